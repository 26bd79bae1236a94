// A Node.js HTTP server on the socket sentrik-master hands it as fd 3.
//
//   sentrik-master --user app --bind 127.0.0.1:8000 --workers 4 -- node server.js
//
// listen({fd: 3}) takes the first socket of LISTEN_FDS as it is: the master
// bound it (as root if it had to) and every worker accepts from it.  Node's
// default on TERM is to die at once, losing the requests in flight: here
// TERM (the master's stop signal) closes the server instead, which stops
// accepting and lets the requests begun finish, then the process exits.
'use strict';
const http = require('http');

const worker = process.env.SENTRIK_WORKER_ID || '?';
const generation = process.env.SENTRIK_GENERATION || '?';

if (process.env.LISTEN_PID !== String(process.pid) || !(Number(process.env.LISTEN_FDS) >= 1)) {
  console.error('server.js: no listening socket (LISTEN_FDS); run it under sentrik-master --bind ADDR');
  process.exit(1);
}

const server = http.createServer((req, res) => {
  const body = `hello from worker ${worker} generation ${generation} pid ${process.pid}\n`;
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});

server.listen({ fd: 3 });

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
});

/* The record a benchmark probe writes to the timer's FIFO.  16 bytes, far
 * below PIPE_BUF: writes from many probes at once stay whole. */
#ifndef BENCH_RECORD_H
#define BENCH_RECORD_H

#include <stdint.h>

enum { BENCH_RUNNING = 1, BENCH_RESULT = 2 };

struct bench_record {
	int32_t kind;  /* BENCH_RUNNING or BENCH_RESULT */
	int32_t pid;   /* the writer, as seen in its own pid namespace */
	int64_t value; /* BENCH_RESULT: nanoseconds */
};

#endif

/* bench.h - `cnnctl bench`: the machine's FP32 peak, GEMM GFLOP/s on the
 * shapes the layers run, and training and inference throughput. */
#ifndef CNNCTL_BENCH_H
#define CNNCTL_BENCH_H

int cmd_bench(int argc, char **argv);

#endif

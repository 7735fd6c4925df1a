#!/bin/sh
# slurm-train.sh CONFIG [cnnctl train options...] - an example Slurm job:
# data-parallel training over the allocated nodes, one MPI rank per task,
# each rank with the task's CPUs as threads. Submit with, for example:
#   sbatch --nodes=4 --ntasks-per-node=2 --cpus-per-task=8 scripts/slurm-train.sh configs/resnet.ini
# The batch in the config must divide by the number of tasks. Rank 0 writes
# the log and checkpoints (to the folders the config names, which should be
# on a shared file system); resubmitting with --resume continues the run,
# on the same or another number of nodes.
#SBATCH --job-name=cnnctl
#SBATCH --time=02:00:00
#SBATCH --output=cnnctl-%j.out
set -eu
[ $# -ge 1 ] || { echo "usage: sbatch scripts/slurm-train.sh CONFIG [options...]" >&2; exit 2; }
threads=${SLURM_CPUS_PER_TASK:-1}
export OMP_PROC_BIND=close OMP_PLACES=cores
exec srun --cpu-bind=cores ./cnnctl train "$@" --threads "$threads"

# The environment the chapters are executed and checked in, sourced by .ci/run and by
# .ci/execute-chapters, so that stored notebook outputs are made under the same settings that
# nbval later checks them under.

# Offline data. CI machines have no internet; the shared folder beside the checkout holds MNIST
# (the official test set and a 22,699-image prefix of the training set).
if [ -z "${COMPANION_DATA_DIR:-}" ] && [ -d ../shared/data/mnist ]; then
    COMPANION_DATA_DIR="$(cd ../shared/data && pwd)"
    export COMPANION_DATA_DIR
fi
echo "COMPANION_DATA_DIR=${COMPANION_DATA_DIR:-<unset>}"

# One BLAS/OpenMP thread per process: the notebooks mix NumPy (OpenBLAS) and torch (OpenMP) in
# one process, and two thread pools spinning on 2 cores slow each other down many times over.
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" \
    MKL_NUM_THREADS="${MKL_NUM_THREADS:-1}"

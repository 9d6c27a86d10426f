#!/bin/sh
# The stand-ins export what programs and the shim link against: the runtime
# under the real version node (libcudart.so.13), the driver under the names
# cuda.h produces (cuMemAlloc_v2, ...).
. tests/cudasim/env.sh
check_exports() {
    lib=$1
    shift
    table=$(objdump -T "$lib")
    for sym in "$@"; do
        if ! echo "$table" | grep -Eq " $sym\$"; then
            echo "FAIL $(basename "$lib") exports $sym"
            failures=$((failures + 1))
        fi
    done
}
check_exports "$SIMLIB/libcudart.so.13" \
    cudaMalloc cudaFree cudaMallocAsync cudaMallocAsync_ptsz cudaFreeAsync cudaFreeAsync_ptsz \
    cudaMallocHost cudaHostAlloc cudaFreeHost cudaHostRegister cudaHostUnregister \
    cudaHostGetDevicePointer cudaMemcpy cudaMemcpy_ptds cudaMemcpyAsync cudaMemcpyAsync_ptsz \
    cudaMemcpy2D cudaMemcpy2D_ptds cudaMemcpy2DAsync cudaMemcpy2DAsync_ptsz cudaMemset \
    cudaMemset_ptds cudaMemsetAsync cudaMemsetAsync_ptsz cudaMemGetInfo cudaPointerGetAttributes \
    cudaStreamCreate cudaStreamCreateWithFlags cudaStreamDestroy cudaStreamSynchronize \
    cudaStreamSynchronize_ptsz cudaStreamQuery cudaStreamQuery_ptsz cudaStreamWaitEvent \
    cudaStreamWaitEvent_ptsz cudaStreamIsCapturing cudaStreamIsCapturing_ptsz \
    cudaStreamBeginCapture cudaStreamEndCapture cudaGraphDestroy cudaEventCreate \
    cudaEventCreateWithFlags cudaEventRecord cudaEventRecord_ptsz cudaEventSynchronize \
    cudaEventQuery cudaEventElapsedTime cudaEventDestroy cudaLaunchHostFunc \
    cudaDeviceSynchronize cudaDeviceReset cudaGetDeviceCount cudaSetDevice cudaGetDevice \
    cudaGetDeviceProperties cudaGetLastError cudaPeekAtLastError cudaGetErrorString \
    cudaGetErrorName cudaRuntimeGetVersion cudaDriverGetVersion
check_exports "$SIMLIB/libcuda.so.1" \
    cuInit cuDriverGetVersion cuDeviceGet cuDeviceGetCount cuDeviceGetAttribute cuCtxGetCurrent \
    cuCtxSetCurrent cuCtxGetDevice cuDevicePrimaryCtxRetain cuDevicePrimaryCtxRelease_v2 \
    cuModuleLoadData cuModuleGetFunction cuModuleUnload cuLaunchKernel cuMemAlloc_v2 \
    cuMemFree_v2 cuMemAllocHost_v2 cuMemHostAlloc cuMemFreeHost cuMemHostGetDevicePointer_v2 \
    cuMemHostRegister_v2 cuMemHostUnregister cuMemcpyHtoD_v2 cuMemcpyDtoH_v2 \
    cuMemcpyHtoDAsync_v2 cuMemcpyDtoHAsync_v2 cuMemcpyDtoDAsync_v2 cuMemcpy cuMemcpyAsync \
    cuMemsetD8_v2 cuMemsetD8Async cuStreamCreate cuStreamDestroy_v2 cuStreamSynchronize \
    cuStreamQuery cuStreamWaitEvent cuStreamIsCapturing cuEventCreate cuEventRecord \
    cuEventSynchronize cuEventQuery cuEventDestroy_v2 cuEventElapsedTime_v2 cuLaunchHostFunc \
    cuPointerGetAttribute cuPointerGetAttributes cuMemGetInfo_v2 cuGetErrorString cuGetErrorName \
    cuGetProcAddress_v2
if objdump -T "$SIMLIB/libcudart.so.13" | grep -Eq 'libcudart\.so\.13 +cudaMalloc$'; then
    echo "ok   runtime symbols carry the libcudart.so.13 version node"
else
    echo "FAIL runtime symbols carry the libcudart.so.13 version node"
    failures=$((failures + 1))
fi
if objdump -T "$SIMLIB/libcudart.so.13" "$SIMLIB/libcuda.so.1" | grep -E ' (sim_|gq_)' ; then
    echo "FAIL internal symbols leak from the libraries"
    failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] && echo "ok   every listed entry point is exported"
finish

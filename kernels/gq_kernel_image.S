/* The CUDA fatbin of gq_kernels.cu as bytes in .rodata (see gq_kernels.h).
 * GQ_FATBIN_PATH is given by kernels/kernels.mk. */
    .section .rodata.gq_kernel_image, "a"
    .globl gq_kernel_image
    .hidden gq_kernel_image
    .type gq_kernel_image, @object
    .balign 64
gq_kernel_image:
    .incbin GQ_FATBIN_PATH
gq_kernel_image_end:
    .size gq_kernel_image, gq_kernel_image_end - gq_kernel_image

    .globl gq_kernel_image_size
    .hidden gq_kernel_image_size
    .type gq_kernel_image_size, @object
    .balign 8
gq_kernel_image_size:
    .quad gq_kernel_image_end - gq_kernel_image
    .size gq_kernel_image_size, 8

    .section .note.GNU-stack, "", @progbits

/* F/D instruction group: fp_ops(fa0 = a, fa1 = b, a0 = out) stores, for each instruction,
 * the raw result (fmv.x.d of FP results, so NaN-boxing of singles shows) and fflags, with
 * fflags cleared before each. fp_driver.c prints them for a grid of special values. */
    .text
    .globl fp_ops
    .type fp_ops, @function
fp_ops:
    /* fadd.d */
    csrw fflags, zero
    fadd.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 0(a0)
    sd t0, 8(a0)
    /* fsub.d */
    csrw fflags, zero
    fsub.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 16(a0)
    sd t0, 24(a0)
    /* fmul.d */
    csrw fflags, zero
    fmul.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 32(a0)
    sd t0, 40(a0)
    /* fdiv.d */
    csrw fflags, zero
    fdiv.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 48(a0)
    sd t0, 56(a0)
    /* fsqrt.d */
    csrw fflags, zero
    fsqrt.d ft0, fa0
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 64(a0)
    sd t0, 72(a0)
    /* fmin.d */
    csrw fflags, zero
    fmin.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 80(a0)
    sd t0, 88(a0)
    /* fmax.d */
    csrw fflags, zero
    fmax.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 96(a0)
    sd t0, 104(a0)
    /* fsgnj.d */
    csrw fflags, zero
    fsgnj.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 112(a0)
    sd t0, 120(a0)
    /* fsgnjn.d */
    csrw fflags, zero
    fsgnjn.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 128(a0)
    sd t0, 136(a0)
    /* fsgnjx.d */
    csrw fflags, zero
    fsgnjx.d ft0, fa0, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 144(a0)
    sd t0, 152(a0)
    /* fmadd.d */
    csrw fflags, zero
    fmadd.d ft0, fa0, fa1, fa0
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 160(a0)
    sd t0, 168(a0)
    /* fnmsub.d */
    csrw fflags, zero
    fnmsub.d ft0, fa0, fa1, fa1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 176(a0)
    sd t0, 184(a0)
    /* fclass.d */
    csrw fflags, zero
    fclass.d t1, fa0
    csrr t0, fflags
    sd t1, 192(a0)
    sd t0, 200(a0)
    /* feq.d */
    csrw fflags, zero
    feq.d t1, fa0, fa1
    csrr t0, fflags
    sd t1, 208(a0)
    sd t0, 216(a0)
    /* flt.d */
    csrw fflags, zero
    flt.d t1, fa0, fa1
    csrr t0, fflags
    sd t1, 224(a0)
    sd t0, 232(a0)
    /* fle.d */
    csrw fflags, zero
    fle.d t1, fa0, fa1
    csrr t0, fflags
    sd t1, 240(a0)
    sd t0, 248(a0)
    /* fcvt.s.d */
    csrw fflags, zero
    fcvt.s.d ft0, fa0
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 256(a0)
    sd t0, 264(a0)
    /* fcvt.d.s */
    csrw fflags, zero
    fcvt.s.d ft1, fa0
    fcvt.d.s ft0, ft1
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 272(a0)
    sd t0, 280(a0)
    /* fcvt.w.d.rne */
    csrw fflags, zero
    fcvt.w.d t1, fa0, rne
    csrr t0, fflags
    sd t1, 288(a0)
    sd t0, 296(a0)
    /* fcvt.l.d.rdn */
    csrw fflags, zero
    fcvt.l.d t1, fa0, rdn
    csrr t0, fflags
    sd t1, 304(a0)
    sd t0, 312(a0)
    /* fcvt.lu.d.rup */
    csrw fflags, zero
    fcvt.lu.d t1, fa0, rup
    csrr t0, fflags
    sd t1, 320(a0)
    sd t0, 328(a0)
    /* fcvt.wu.d.rmm */
    csrw fflags, zero
    fcvt.wu.d t1, fa0, rmm
    csrr t0, fflags
    sd t1, 336(a0)
    sd t0, 344(a0)
    /* fcvt.l.d.dyn */
    csrw fflags, zero
    fcvt.l.d t1, fa0
    csrr t0, fflags
    sd t1, 352(a0)
    sd t0, 360(a0)
    /* fadd.s */
    csrw fflags, zero
    fcvt.s.d ft1, fa0
    fcvt.s.d ft2, fa1
    fadd.s ft0, ft1, ft2
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 368(a0)
    sd t0, 376(a0)
    /* fdiv.s */
    csrw fflags, zero
    fcvt.s.d ft1, fa0
    fcvt.s.d ft2, fa1
    fdiv.s ft0, ft1, ft2
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 384(a0)
    sd t0, 392(a0)
    /* fmin.s */
    csrw fflags, zero
    fcvt.s.d ft1, fa0
    fcvt.s.d ft2, fa1
    fmin.s ft0, ft1, ft2
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 400(a0)
    sd t0, 408(a0)
    /* fclass.s */
    csrw fflags, zero
    fcvt.s.d ft1, fa0
    fclass.s t1, ft1
    csrr t0, fflags
    sd t1, 416(a0)
    sd t0, 424(a0)
    /* fcvt.d.l */
    csrw fflags, zero
    fcvt.l.d t2, fa0, rtz
    fcvt.d.l ft0, t2
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 432(a0)
    sd t0, 440(a0)
    /* fmv.w.x */
    csrw fflags, zero
    fmv.x.d t2, fa0
    fmv.w.x ft0, t2
    fmv.x.d t1, ft0
    csrr t0, fflags
    sd t1, 448(a0)
    sd t0, 456(a0)
    ret
    .size fp_ops, .-fp_ops
    .section .note.GNU-stack,"",@progbits

/* Zba/Zbb/Zbs: bm_ops(a0 = x, a1 = y, a2 = out) stores one result per instruction into out[].
 * Built with -march=rv64gc_zba_zbb_zbs; bitmanip_driver.c prints the results. */
    .text
    .globl bm_ops
    .type bm_ops, @function
bm_ops:
    /* Zba */
    sh1add   t0, a0, a1;  sd t0, 0(a2)
    sh2add   t0, a0, a1;  sd t0, 8(a2)
    sh3add   t0, a0, a1;  sd t0, 16(a2)
    add.uw   t0, a0, a1;  sd t0, 24(a2)
    sh1add.uw t0, a0, a1; sd t0, 32(a2)
    sh2add.uw t0, a0, a1; sd t0, 40(a2)
    sh3add.uw t0, a0, a1; sd t0, 48(a2)
    slli.uw  t0, a0, 5;   sd t0, 56(a2)
    /* Zbb */
    andn     t0, a0, a1;  sd t0, 64(a2)
    orn      t0, a0, a1;  sd t0, 72(a2)
    xnor     t0, a0, a1;  sd t0, 80(a2)
    clz      t0, a0;      sd t0, 88(a2)
    clzw     t0, a0;      sd t0, 96(a2)
    ctz      t0, a0;      sd t0, 104(a2)
    ctzw     t0, a0;      sd t0, 112(a2)
    cpop     t0, a0;      sd t0, 120(a2)
    cpopw    t0, a0;      sd t0, 128(a2)
    max      t0, a0, a1;  sd t0, 136(a2)
    maxu     t0, a0, a1;  sd t0, 144(a2)
    min      t0, a0, a1;  sd t0, 152(a2)
    minu     t0, a0, a1;  sd t0, 160(a2)
    sext.b   t0, a0;      sd t0, 168(a2)
    sext.h   t0, a0;      sd t0, 176(a2)
    zext.h   t0, a0;      sd t0, 184(a2)
    rol      t0, a0, a1;  sd t0, 192(a2)
    ror      t0, a0, a1;  sd t0, 200(a2)
    rolw     t0, a0, a1;  sd t0, 208(a2)
    rorw     t0, a0, a1;  sd t0, 216(a2)
    rori     t0, a0, 13;  sd t0, 224(a2)
    roriw    t0, a0, 7;   sd t0, 232(a2)
    orc.b    t0, a0;      sd t0, 240(a2)
    rev8     t0, a0;      sd t0, 248(a2)
    /* Zbs */
    bclr     t0, a0, a1;  sd t0, 256(a2)
    bext     t0, a0, a1;  sd t0, 264(a2)
    binv     t0, a0, a1;  sd t0, 272(a2)
    bset     t0, a0, a1;  sd t0, 280(a2)
    bclri    t0, a0, 63;  sd t0, 288(a2)
    bexti    t0, a0, 3;   sd t0, 296(a2)
    binvi    t0, a0, 40;  sd t0, 304(a2)
    bseti    t0, a0, 0;   sd t0, 312(a2)
    ret
    .size bm_ops, .-bm_ops
    .section .note.GNU-stack,"",@progbits

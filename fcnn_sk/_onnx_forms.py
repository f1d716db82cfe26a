"""ONNX forms of the activations and output links: how each computes in an ONNX graph.

Each form takes a graph builder ``g`` (``fcnn_sk.onnx._Graph``: ``g.op(op_type, *inputs,
**attributes)``, ``g.const(value)``, ``g.polynomial(coefficients, x)``, ``g.double``,
``g.opset``) and the name of its input, and returns the name of its output; it
computes what its kernel in csrc/ computes. The registry (``_registry.ACTIVATIONS``)
holds each activation's form; nothing here needs skl2onnx.
"""

# --- erf in elementary operators, for double graphs -------------------------------
# fdlibm's s_erf.c (Sun Microsystems, freely distributable): erf(x) = x + x R(x^2)
# for |x| < 0.84375, erx + P(|x|-1)/Q(|x|-1) up to 1.25, and
# 1 - exp(-x^2 - 0.5625 + R(1/x^2)/S(1/x^2)) / |x| up to 6 (two coefficient sets
# split at 1/0.35), +-1 beyond; all with the sign of x. Each piece is computed for
# every element and the right one selected, so a piece that is not finite where it
# is not used (1/x^2 at 0) does no harm. Within an ulp of libm's erf in double.
_ERX = 8.45062911510467529297e-01
_PP = [
    1.28379167095512558561e-01,
    -3.25042107247001499370e-01,
    -2.84817495755985104766e-02,
    -5.77027029648944159157e-03,
    -2.37630166566501626084e-05,
]
_QQ = [
    1.0,
    3.97917223959155352819e-01,
    6.50222499887672944485e-02,
    5.08130628187576562776e-03,
    1.32494738004321644526e-04,
    -3.96022827877536812320e-06,
]
_PA = [
    -2.36211856075265944077e-03,
    4.14856118683748331666e-01,
    -3.72207876035701323847e-01,
    3.18346619901161753674e-01,
    -1.10894694282396677476e-01,
    3.54783043256182359371e-02,
    -2.16637559486879084300e-03,
]
_QA = [
    1.0,
    1.06420880400844228286e-01,
    5.40397917702171048937e-01,
    7.18286544141962662868e-02,
    1.26171219808761642112e-01,
    1.36370839120290507362e-02,
    1.19844998467991074170e-02,
]
_RA = [
    -9.86494403484714822705e-03,
    -6.93858572707181764372e-01,
    -1.05586262253232909814e01,
    -6.23753324503260060396e01,
    -1.62396669462573470355e02,
    -1.84605092906711035994e02,
    -8.12874355063065934246e01,
    -9.81432934416914548592e00,
]
_SA = [
    1.0,
    1.96512716674392571292e01,
    1.37657754143519042600e02,
    4.34565877475229228821e02,
    6.45387271733267880336e02,
    4.29008140027567833386e02,
    1.08635005541779435134e02,
    6.57024977031928170135e00,
    -6.04244152148580987438e-02,
]
_RB = [
    -9.86494292470009928597e-03,
    -7.99283237680523006574e-01,
    -1.77579549177547519889e01,
    -1.60636384855821916062e02,
    -6.37566443368389627722e02,
    -1.02509513161107724954e03,
    -4.83519191608651397019e02,
]
_SB = [
    1.0,
    3.03380607434824582924e01,
    3.25792512996573918826e02,
    1.53672958608443695994e03,
    3.19985821950859553908e03,
    2.55305040643316442583e03,
    4.74528541206955367215e02,
    -2.24409524465858183362e01,
]


def _erf(g, x):
    """erf(x): the Erf operator in float graphs, fdlibm's pieces in double ones."""
    if not g.double:
        return g.op("Erf", x)
    ax = g.op("Abs", x)
    sign = g.op("Sign", x)
    z = g.op("Mul", x, x)
    small = g.op(
        "Add",
        x,
        g.op("Mul", x, g.op("Div", g.polynomial(_PP, z), g.polynomial(_QQ, z))),
    )
    s = g.op("Sub", ax, g.const(1.0))
    mid = g.op(
        "Mul",
        sign,
        g.op(
            "Add",
            g.const(_ERX),
            g.op("Div", g.polynomial(_PA, s), g.polynomial(_QA, s)),
        ),
    )
    t = g.op("Reciprocal", z)
    rs = g.op(
        "Where",
        g.op("Less", ax, g.const(1 / 0.35)),
        g.op("Div", g.polynomial(_RA, t), g.polynomial(_SA, t)),
        g.op("Div", g.polynomial(_RB, t), g.polynomial(_SB, t)),
    )
    expo = g.op("Add", g.op("Sub", g.op("Neg", z), g.const(0.5625)), rs)
    tail = g.op(
        "Mul", sign, g.op("Sub", g.const(1.0), g.op("Div", g.op("Exp", expo), ax))
    )
    out = g.op("Where", g.op("Less", ax, g.const(6.0)), tail, sign)
    out = g.op("Where", g.op("Less", ax, g.const(1.25)), mid, out)
    return g.op("Where", g.op("Less", ax, g.const(0.84375)), small, out)


# --- ONNX forms of the hidden activations: (graph, input name, **params) -> name ---
# Each computes what its kernel in csrc/_activations.pxd computes, in that order.


def identity(g, x, **_):
    return x


def logistic(g, x, **_):
    return g.op("Sigmoid", x)


def tanh(g, x, **_):
    return g.op("Tanh", x)


def relu(g, x, **_):
    return g.op("Relu", x)


def leaky_relu(g, x, *, negative_slope, **_):
    if not g.double:
        return g.op("LeakyRelu", x, alpha=float(negative_slope))
    # z if z > 0 else s * z, with s in double (the operator's alpha is a float)
    return g.op(
        "Where",
        g.op("Greater", x, g.const(0.0)),
        x,
        g.op("Mul", x, g.const(negative_slope)),
    )


def elu(g, x, **_):
    if not g.double:
        return g.op("Elu", x, alpha=1.0)
    return g.op(
        "Where",
        g.op("Greater", x, g.const(0.0)),
        x,
        g.op("Sub", g.op("Exp", x), g.const(1.0)),
    )


def gelu(g, x, **_):
    if g.opset >= 20 and not g.double:
        return g.op("Gelu", x)  # approximate='none': the exact form, as the kernel
    # 0.5 * z * (1 + erf(z / sqrt(2)))
    erf = _erf(g, g.op("Mul", x, g.const(0.7071067811865476)))
    return g.op("Mul", g.op("Mul", g.const(0.5), x), g.op("Add", g.const(1.0), erf))


def softplus(g, x, **_):
    if not g.double:
        return g.op("Softplus", x)
    # max(z, 0) + log(1 + exp(-|z|)): never overflows
    return g.op(
        "Add",
        g.op("Relu", x),
        g.op(
            "Log", g.op("Add", g.const(1.0), g.op("Exp", g.op("Neg", g.op("Abs", x))))
        ),
    )


def swish(g, x, **_):
    if g.opset >= 24 and not g.double:
        return g.op("Swish", x)
    return g.op("Mul", x, g.op("Sigmoid", x))


#: ONNX form of each output activation (the link from raw outputs to predictions):
#: ``form(graph, input_name) -> output_name``.
OUTPUT_FORMS = {
    "identity": lambda g, z: z,
    "logistic": lambda g, z: g.op("Sigmoid", z),
    "softmax": lambda g, z: g.op("Softmax", z, axis=1),
    "exp": lambda g, z: g.op("Exp", z),
}

"""BatchNorm, LayerNorm, InstanceNorm (Gluon 1.9.1 gluon/nn/basic_layers.py)."""

from dataclasses import dataclass

from conformance.arch.layer import NP_FLOAT32, Layer, known_or_none, source_args

CLASS_NAMES = {"batch": "BatchNorm", "layer": "LayerNorm", "instance": "InstanceNorm"}


@dataclass(frozen=True)
class Norm(Layer):
    kind: str = "batch"        # 'batch' (axis 1) | 'layer' (axis -1) | 'instance' (axis 1)
    in_channels: int = 0
    scale: bool = False        # InstanceNorm only (its default False; the others True)

    dtype = NP_FLOAT32

    @property
    def class_name(self):
        return CLASS_NAMES[self.kind]

    @property
    def hint(self):
        return self.class_name.lower()

    @property
    def overwrites_shapes(self):
        return self.kind in ("batch", "instance")

    @property
    def runs_on_wrong_size(self):
        return self.kind == "batch"

    def source(self, refs):
        return "nn.%s(%s)" % (self.class_name, source_args(
            in_channels=(self.in_channels, 0),
            scale=(self.scale, False if self.kind == "instance" else self.scale)))

    def declared_params(self):
        c = (self.in_channels,)
        if self.kind == "batch":
            return [("gamma", c, "ones", "write"), ("beta", c, "zeros", "write"),
                    ("running_mean", c, "zeros", "null"), ("running_var", c, "ones", "null")]
        scale = self.scale if self.kind == "instance" else True
        return [("gamma", c, "ones", "write" if scale else "null"), ("beta", c, "zeros", "write")]

    def required_shapes(self, shape):
        c = shape[-1] if self.kind == "layer" else shape[1]
        return {attr: (c,) for attr, _, _, _ in self.declared_params()}

    def gluon_repr(self, shape_of):
        c = shape_of("gamma")[0]
        if self.kind == "batch":
            return ("BatchNorm(axis=1, eps=1e-05, momentum=0.9, fix_gamma=False, "
                    "use_global_stats=False, in_channels=%s)" % known_or_none(c))
        if self.kind == "layer":
            return "LayerNorm(eps=1e-05, axis=-1, center=True, scale=True, in_channels=%d)" % c
        return ("InstanceNorm(eps=1e-05, axis=1, center=True, scale=%s, in_channels=%d)"
                % (self.scale, c))

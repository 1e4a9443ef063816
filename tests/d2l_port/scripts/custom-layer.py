import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
from mxnet import gluon, nd
from mxnet.gluon import nn

class CenteredLayer(nn.Block):
    def __init__(self, **kwargs):
        super(CenteredLayer, self).__init__(**kwargs)

    def forward(self, x):
        return x - x.mean()
print('--- cell 2')
layer = CenteredLayer()
_v = (layer(nd.array([1, 2, 3, 4, 5])))
if _v is not None: print(_v)
print('--- cell 3')
net = nn.Sequential()
net.add(nn.Dense(128), CenteredLayer())
_v = (net.initialize())
if _v is not None: print(_v)
print('--- cell 4')
y = net(nd.random.uniform(shape=(4, 8)))
_v = (y.mean().asscalar())
if _v is not None: print(_v)
print('--- cell 5')
params = gluon.ParameterDict()
params.get('param2', shape=(2, 3))
_v = (params)
if _v is not None: print(_v)
print('--- cell 6')
class MyDense(nn.Block):
    # units: the number of outputs in this layer; in_units: the number of
    # inputs in this layer
    def __init__(self, units, in_units, **kwargs):
        super(MyDense, self).__init__(**kwargs)
        self.weight = self.params.get('weight', shape=(in_units, units))
        self.bias = self.params.get('bias', shape=(units,))

    def forward(self, x):
        linear = nd.dot(x, self.weight.data()) + self.bias.data()
        return nd.relu(linear)
print('--- cell 7')
dense = MyDense(units=3, in_units=5)
_v = (dense.params)
if _v is not None: print(_v)
print('--- cell 8')
dense.initialize()
_v = (dense(nd.random.uniform(shape=(2, 5))))
if _v is not None: print(_v)
print('--- cell 9')
net = nn.Sequential()
net.add(MyDense(8, in_units=64),
        MyDense(1, in_units=8))
net.initialize()
_v = (net(nd.random.uniform(shape=(2, 64))))
if _v is not None: print(_v)

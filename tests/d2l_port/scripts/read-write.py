import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
from mxnet import nd
from mxnet.gluon import nn

x = nd.arange(4)
_v = (nd.save('x-file', x))
if _v is not None: print(_v)
print('--- cell 2')
x2 = nd.load('x-file')
_v = (x2)
if _v is not None: print(_v)
print('--- cell 3')
y = nd.zeros(4)
nd.save('x-files', [x, y])
x2, y2 = nd.load('x-files')
_v = ((x2, y2))
if _v is not None: print(_v)
print('--- cell 4')
mydict = {'x': x, 'y': y}
nd.save('mydict', mydict)
mydict2 = nd.load('mydict')
_v = (mydict2)
if _v is not None: print(_v)
print('--- cell 5')
class MLP(nn.Block):
    def __init__(self, **kwargs):
        super(MLP, self).__init__(**kwargs)
        self.hidden = nn.Dense(256, activation='relu')
        self.output = nn.Dense(10)

    def forward(self, x):
        return self.output(self.hidden(x))

net = MLP()
net.initialize()
x = nd.random.uniform(shape=(2, 20))
y = net(x)
print('--- cell 6')
_v = (net.save_parameters('mlp.params'))
if _v is not None: print(_v)
print('--- cell 7')
clone = MLP()
_v = (clone.load_parameters('mlp.params'))
if _v is not None: print(_v)
print('--- cell 8')
yclone = clone(x)
_v = (yclone == y)
if _v is not None: print(_v)

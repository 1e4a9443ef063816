import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
from mxnet import init, nd
from mxnet.gluon import nn

def getnet():
    net = nn.Sequential()
    net.add(nn.Dense(256, activation='relu'))
    net.add(nn.Dense(10))
    return net

net = getnet()
print('--- cell 2')
print(net.collect_params)
_v = (print(net.collect_params()))
if _v is not None: print(_v)
print('--- cell 3')
net.initialize()
_v = (net.collect_params())
if _v is not None: print(_v)
print('--- cell 4')
x = nd.random.uniform(shape=(2, 20))
net(x)  # Forward computation

_v = (net.collect_params())
if _v is not None: print(_v)
print('--- cell 5')
class MyInit(init.Initializer):
    def _init_weight(self, name, data):
        print('Init', name, data.shape)
        # The actual initialization logic is omitted here

net = getnet()
_v = (net.initialize(init=MyInit()))
if _v is not None: print(_v)
print('--- cell 6')
x = nd.random.uniform(shape=(2, 20))
y = net(x)
print('--- cell 7')
y = net(x)
print('--- cell 8')
_v = (net.initialize(init=MyInit(), force_reinit=True))
if _v is not None: print(_v)
print('--- cell 9')
net = nn.Sequential()
net.add(nn.Dense(256, in_units=20, activation='relu'))
net.add(nn.Dense(10, in_units=256))

_v = (net.initialize(init=MyInit()))
if _v is not None: print(_v)

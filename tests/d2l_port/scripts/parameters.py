import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
from mxnet import init, nd
from mxnet.gluon import nn

net = nn.Sequential()
net.add(nn.Dense(256, activation='relu'))
net.add(nn.Dense(10))
net.initialize()  # Use the default initialization method

x = nd.random.uniform(shape=(2, 20))
_v = (net(x)  # Forward computation
)
if _v is not None: print(_v)
print('--- cell 2')
print(net[0].params)
_v = (print(net[1].params))
if _v is not None: print(_v)
print('--- cell 3')
print(net[1].bias)
_v = (print(net[1].bias.data()))
if _v is not None: print(_v)
print('--- cell 4')
print(net[0].params['dense0_weight'])
_v = (print(net[0].params['dense0_weight'].data()))
if _v is not None: print(_v)
print('--- cell 5')
_v = (net[0].weight.grad())
if _v is not None: print(_v)
print('--- cell 6')
# parameters only for the first layer
print(net[0].collect_params())
# parameters of the entire network
_v = (print(net.collect_params()))
if _v is not None: print(_v)
print('--- cell 7')
_v = (net.collect_params()['dense1_bias'].data())
if _v is not None: print(_v)
print('--- cell 8')
print(net.collect_params('.*weight'))
_v = (print(net.collect_params('dense0.*')))
if _v is not None: print(_v)
print('--- cell 9')
def block1():
    net = nn.Sequential()
    net.add(nn.Dense(32, activation='relu'))
    net.add(nn.Dense(16, activation='relu'))
    return net

def block2():
    net = nn.Sequential()
    for i in range(4):
        net.add(block1())
    return net

rgnet = nn.Sequential()
rgnet.add(block2())
rgnet.add(nn.Dense(10))
rgnet.initialize()
_v = (rgnet(x))
if _v is not None: print(_v)
print('--- cell 10')
print(rgnet.collect_params)
_v = (print(rgnet.collect_params()))
if _v is not None: print(_v)
print('--- cell 11')
_v = (rgnet[0][1][0].bias.data())
if _v is not None: print(_v)
print('--- cell 12')
# force_reinit ensures that the variables are initialized again, regardless of
# whether they were already initialized previously
net.initialize(init=init.Normal(sigma=0.01), force_reinit=True)
_v = (net[0].weight.data()[0])
if _v is not None: print(_v)
print('--- cell 13')
net.initialize(init=init.Constant(1), force_reinit=True)
_v = (net[0].weight.data()[0])
if _v is not None: print(_v)
print('--- cell 14')
net[1].initialize(init=init.Constant(42), force_reinit=True)
net[0].weight.initialize(init=init.Xavier(), force_reinit=True)
print(net[1].weight.data()[0,0])
_v = (print(net[0].weight.data()[0]))
if _v is not None: print(_v)
print('--- cell 15')
class MyInit(init.Initializer):
    def _init_weight(self, name, data):
        print('Init', name, data.shape)
        data[:] = nd.random.uniform(low=-10, high=10, shape=data.shape)
        data *= data.abs() >= 5

net.initialize(MyInit(), force_reinit=True)
_v = (net[0].weight.data()[0])
if _v is not None: print(_v)
print('--- cell 16')
net[0].weight.data()[:] += 1
net[0].weight.data()[0,0] = 42
_v = (net[0].weight.data()[0])
if _v is not None: print(_v)
print('--- cell 17')
net = nn.Sequential()
# We need to give the shared layer a name such that we can reference its
# parameters
shared = nn.Dense(8, activation='relu')
net.add(nn.Dense(8, activation='relu'),
        shared,
        nn.Dense(8, activation='relu', params=shared.params),
        nn.Dense(10))
net.initialize()

x = nd.random.uniform(shape=(2, 20))
net(x)

# Check whether the parameters are the same
print(net[1].weight.data()[0] == net[2].weight.data()[0])
net[1].weight.data()[0,0] = 100
# Make sure that they're actually the same object rather than just having the
# same value
_v = (print(net[1].weight.data()[0] == net[2].weight.data()[0]))
if _v is not None: print(_v)

import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
from mxnet import autograd, nd

num_inputs = 2
num_examples = 1000
true_w = nd.array([2, -3.4])
true_b = 4.2
features = nd.random.normal(scale=1, shape=(num_examples, num_inputs))
labels = nd.dot(features, true_w) + true_b
labels += nd.random.normal(scale=0.01, shape=labels.shape)
print('--- cell 2')
from mxnet.gluon import data as gdata

batch_size = 10
# Combine the features and labels of the training data
dataset = gdata.ArrayDataset(features, labels)
# Randomly reading mini-batches
data_iter = gdata.DataLoader(dataset, batch_size, shuffle=True)
print('--- cell 3')
for X, y in data_iter:
    print(X, y)
    break
print('--- cell 4')
from mxnet.gluon import nn
net = nn.Sequential()
print('--- cell 5')
_v = (net.add(nn.Dense(1)))
if _v is not None: print(_v)
print('--- cell 6')
from mxnet import init
_v = (net.initialize(init.Normal(sigma=0.01)))
if _v is not None: print(_v)
print('--- cell 7')
from mxnet.gluon import loss as gloss
loss = gloss.L2Loss()  # The squared loss is also known as the L2 norm loss
print('--- cell 8')
from mxnet import gluon
trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.03})
print('--- cell 9')
num_epochs = 3
for epoch in range(1, num_epochs + 1):
    for X, y in data_iter:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(batch_size)
    l = loss(net(features), labels)
    print('epoch %d, loss: %f' % (epoch, l.mean().asnumpy()))
print('--- cell 10')
w = net[0].weight.data()
print('Error in estimating w', true_w.reshape(w.shape) - w)
b = net[0].bias.data()
_v = (print('Error in estimating b', true_b - b))
if _v is not None: print(_v)

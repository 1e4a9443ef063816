import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
import sys
sys.path.insert(0, '..')

import d2l
from mxnet import nd
from mxnet.gluon import loss as gloss
print('--- cell 2')
batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
print('--- cell 3')
num_inputs, num_outputs, num_hiddens = 784, 10, 256

W1 = nd.random.normal(scale=0.01, shape=(num_inputs, num_hiddens))
b1 = nd.zeros(num_hiddens)
W2 = nd.random.normal(scale=0.01, shape=(num_hiddens, num_outputs))
b2 = nd.zeros(num_outputs)
params = [W1, b1, W2, b2]

for param in params:
    param.attach_grad()
print('--- cell 4')
def relu(X):
    return nd.maximum(X, 0)
print('--- cell 5')
def net(X):
    X = X.reshape((-1, num_inputs))
    H = relu(nd.dot(X, W1) + b1)
    return nd.dot(H, W2) + b2
print('--- cell 6')
loss = gloss.SoftmaxCrossEntropyLoss()
print('--- cell 7')
num_epochs, lr = 10, 0.5
_v = (d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size,
              params, lr))
if _v is not None: print(_v)
print('--- cell 8')
for X, y in test_iter:
    break

true_labels = d2l.get_fashion_mnist_labels(y.asnumpy())
pred_labels = d2l.get_fashion_mnist_labels(net(X).argmax(axis=1).asnumpy())
titles = [truelabel + '\n' + predlabel
          for truelabel, predlabel in zip(true_labels, pred_labels)]

_v = (d2l.show_fashion_mnist(X[0:9], titles[0:9]))
if _v is not None: print(_v)

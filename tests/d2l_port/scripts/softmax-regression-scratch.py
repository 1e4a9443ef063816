import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
import sys
sys.path.insert(0, '..')

import d2l
from mxnet import autograd, nd
print('--- cell 2')
batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
print('--- cell 3')
num_inputs = 784
num_outputs = 10

W = nd.random.normal(scale=0.01, shape=(num_inputs, num_outputs))
b = nd.zeros(num_outputs)
print('--- cell 4')
W.attach_grad()
_v = (b.attach_grad())
if _v is not None: print(_v)
print('--- cell 5')
X = nd.array([[1, 2, 3], [4, 5, 6]])
_v = (X.sum(axis=0, keepdims=True), X.sum(axis=1, keepdims=True))
if _v is not None: print(_v)
print('--- cell 6')
def softmax(X):
    X_exp = X.exp()
    partition = X_exp.sum(axis=1, keepdims=True)
    return X_exp / partition  # The broadcast mechanism is applied here
print('--- cell 7')
X = nd.random.normal(shape=(2, 5))
X_prob = softmax(X)
_v = (X_prob, X_prob.sum(axis=1))
if _v is not None: print(_v)
print('--- cell 8')
def net(X):
    return softmax(nd.dot(X.reshape((-1, num_inputs)), W) + b)
print('--- cell 9')
y_hat = nd.array([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]])
y = nd.array([0, 2], dtype='int32')
_v = (nd.pick(y_hat, y))
if _v is not None: print(_v)
print('--- cell 10')
def cross_entropy(y_hat, y):
    return - nd.pick(y_hat, y).log()
print('--- cell 11')
def accuracy(y_hat, y):
    return (y_hat.argmax(axis=1) == y.astype('float32')).mean().asscalar()
print('--- cell 12')
_v = (accuracy(y_hat, y))
if _v is not None: print(_v)
print('--- cell 13')
# The function will be gradually improved: the complete implementation will be
# discussed in the "Image Augmentation" section
def evaluate_accuracy(data_iter, net):
    acc_sum, n = 0.0, 0
    for X, y in data_iter:
        y = y.astype('float32')
        acc_sum += (net(X).argmax(axis=1) == y).sum().asscalar()
        n += y.size
    return acc_sum / n
print('--- cell 14')
_v = (evaluate_accuracy(test_iter, net))
if _v is not None: print(_v)
print('--- cell 15')
num_epochs, lr = 5, 0.1

# This function has been saved in the d2l package for future use
def train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size,
              params=None, lr=None, trainer=None):
    for epoch in range(num_epochs):
        train_l_sum, train_acc_sum, n = 0.0, 0.0, 0
        for X, y in train_iter:
            with autograd.record():
                y_hat = net(X)
                l = loss(y_hat, y).sum()
            l.backward()
            if trainer is None:
                d2l.sgd(params, lr, batch_size)
            else:
                # This will be illustrated in the next section
                trainer.step(batch_size)
            y = y.astype('float32')
            train_l_sum += l.asscalar()
            train_acc_sum += (y_hat.argmax(axis=1) == y).sum().asscalar()
            n += y.size
        test_acc = evaluate_accuracy(test_iter, net)
        print('epoch %d, loss %.4f, train acc %.3f, test acc %.3f'
              % (epoch + 1, train_l_sum / n, train_acc_sum / n, test_acc))

_v = (train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs,
          batch_size, [W, b], lr))
if _v is not None: print(_v)
print('--- cell 16')
for X, y in test_iter:
    break

true_labels = d2l.get_fashion_mnist_labels(y.asnumpy())
pred_labels = d2l.get_fashion_mnist_labels(net(X).argmax(axis=1).asnumpy())
titles = [truelabel + '\n' + predlabel
          for truelabel, predlabel in zip(true_labels, pred_labels)]

_v = (d2l.show_fashion_mnist(X[0:9], titles[0:9]))
if _v is not None: print(_v)

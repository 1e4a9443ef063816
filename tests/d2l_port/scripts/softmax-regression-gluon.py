import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
import sys
sys.path.insert(0, '..')

import d2l
from mxnet import gluon, init
from mxnet.gluon import loss as gloss, nn
print('--- cell 2')
batch_size = 256
train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
print('--- cell 3')
net = nn.Sequential()
net.add(nn.Dense(10))
_v = (net.initialize(init.Normal(sigma=0.01)))
if _v is not None: print(_v)
print('--- cell 4')
loss = gloss.SoftmaxCrossEntropyLoss()
print('--- cell 5')
trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
print('--- cell 6')
num_epochs = 5
_v = (d2l.train_ch3(net, train_iter, test_iter, loss, num_epochs, batch_size, None,
              None, trainer))
if _v is not None: print(_v)

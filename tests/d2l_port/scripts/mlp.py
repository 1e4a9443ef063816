import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
import sys
sys.path.insert(0, '..')

import d2l
from mxnet import autograd, nd

def xyplot(x_vals, y_vals, name):
    d2l.set_figsize(figsize=(5, 2.5))
    d2l.plt.plot(x_vals.asnumpy(), y_vals.asnumpy())
    d2l.plt.xlabel('x')
    d2l.plt.ylabel(name + '(x)')
print('--- cell 2')
x = nd.arange(-8.0, 8.0, 0.1)
x.attach_grad()
with autograd.record():
    y = x.relu()
_v = (xyplot(x, y, 'relu'))
if _v is not None: print(_v)
print('--- cell 3')
y.backward()
_v = (xyplot(x, x.grad, 'grad of relu'))
if _v is not None: print(_v)
print('--- cell 4')
with autograd.record():
    y = x.sigmoid()
_v = (xyplot(x, y, 'sigmoid'))
if _v is not None: print(_v)
print('--- cell 5')
y.backward()
_v = (xyplot(x, x.grad, 'grad of sigmoid'))
if _v is not None: print(_v)
print('--- cell 6')
with autograd.record():
    y = x.tanh()
_v = (xyplot(x, y, 'tanh'))
if _v is not None: print(_v)
print('--- cell 7')
y.backward()
_v = (xyplot(x, x.grad, 'grad of tanh'))
if _v is not None: print(_v)

import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
from mxnet import autograd, nd
print('--- cell 2')
x = nd.arange(4).reshape((4, 1))
_v = (print(x))
if _v is not None: print(_v)
print('--- cell 3')
_v = (x.attach_grad())
if _v is not None: print(_v)
print('--- cell 4')
with autograd.record():
    y = 2 * nd.dot(x.T, x)
_v = (print(y))
if _v is not None: print(_v)
print('--- cell 5')
_v = (y.backward())
if _v is not None: print(_v)
print('--- cell 6')
print((x.grad - 4 * x).norm().asscalar() == 0)
_v = (print(x.grad))
if _v is not None: print(_v)
print('--- cell 7')
print(autograd.is_training())
with autograd.record():
    print(autograd.is_training())
print('--- cell 8')
def f(a):
    b = a * 2
    while b.norm().asscalar() < 1000:
        b = b * 2
    if b.sum().asscalar() > 0:
        c = b
    else:
        c = 100 * b
    return c
print('--- cell 9')
a = nd.random.normal(shape=1)
a.attach_grad()
with autograd.record():
    d = f(a)
_v = (d.backward())
if _v is not None: print(_v)
print('--- cell 10')
_v = (print(a.grad == (d / a)))
if _v is not None: print(_v)
print('--- cell 11')
with autograd.record():
    y = x * 2
    z = y * x

head_gradient = nd.array([10, 1., .1, .01])
z.backward(head_gradient)
_v = (print(x.grad))
if _v is not None: print(_v)

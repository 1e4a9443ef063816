import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
import mxnet as mx
from mxnet import nd
print('--- cell 2')
probabilities = nd.ones(6) / 6
_v = (nd.random.multinomial(probabilities))
if _v is not None: print(_v)
print('--- cell 3')
print(nd.random.multinomial(probabilities, shape=(10)))
_v = (print(nd.random.multinomial(probabilities, shape=(5,10))))
if _v is not None: print(_v)
print('--- cell 4')
rolls = nd.random.multinomial(probabilities, shape=(1000))
counts = nd.zeros((6,1000))
totals = nd.zeros(6)
for i, roll in enumerate(rolls):
    totals[int(roll.asscalar())] += 1
    counts[:, i] = totals
print('--- cell 5')
_v = (totals / 1000)
if _v is not None: print(_v)
print('--- cell 6')
_v = (counts)
if _v is not None: print(_v)
print('--- cell 7')
x = nd.arange(1000).reshape((1,1000)) + 1
estimates = counts / x
print(estimates[:,0])
print(estimates[:,1])
_v = (print(estimates[:,100]))
if _v is not None: print(_v)
print('--- cell 8')
# cell 8 is not plain Python: skipped

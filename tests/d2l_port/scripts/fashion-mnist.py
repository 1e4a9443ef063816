import warnings; warnings.filterwarnings('ignore')
print('--- cell 1')
import sys
sys.path.insert(0, '..')

import d2l
from mxnet.gluon import data as gdata
import sys
import time
print('--- cell 2')
mnist_train = gdata.vision.FashionMNIST(train=True)
mnist_test = gdata.vision.FashionMNIST(train=False)
print('--- cell 3')
_v = (len(mnist_train), len(mnist_test))
if _v is not None: print(_v)
print('--- cell 4')
feature, label = mnist_train[0]
print('--- cell 5')
_v = (feature.shape, feature.dtype)
if _v is not None: print(_v)
print('--- cell 6')
_v = (label, type(label), label.dtype)
if _v is not None: print(_v)
print('--- cell 7')
# This function has been saved in the d2l package for future use
def get_fashion_mnist_labels(labels):
    text_labels = ['t-shirt', 'trouser', 'pullover', 'dress', 'coat',
                   'sandal', 'shirt', 'sneaker', 'bag', 'ankle boot']
    return [text_labels[int(i)] for i in labels]
print('--- cell 8')
# This function has been saved in the d2l package for future use
def show_fashion_mnist(images, labels):
    d2l.use_svg_display()
    # Here _ means that we ignore (not use) variables
    _, figs = d2l.plt.subplots(1, len(images), figsize=(12, 12))
    for f, img, lbl in zip(figs, images, labels):
        f.imshow(img.reshape((28, 28)).asnumpy())
        f.set_title(lbl)
        f.axes.get_xaxis().set_visible(False)
        f.axes.get_yaxis().set_visible(False)
print('--- cell 9')
X, y = mnist_train[0:9]
_v = (show_fashion_mnist(X, get_fashion_mnist_labels(y)))
if _v is not None: print(_v)
print('--- cell 10')
batch_size = 256
transformer = gdata.vision.transforms.ToTensor()
if sys.platform.startswith('win'):
    # 0 means no additional processes are needed to speed up the reading of
    # data
    num_workers = 0
else:
    num_workers = 4

train_iter = gdata.DataLoader(mnist_train.transform_first(transformer),
                              batch_size, shuffle=True,
                              num_workers=num_workers)
test_iter = gdata.DataLoader(mnist_test.transform_first(transformer),
                             batch_size, shuffle=False,
                             num_workers=num_workers)
print('--- cell 11')
start = time.time()
for X, y in train_iter:
    continue
_v = ('%.2f sec' % (time.time() - start))
if _v is not None: print(_v)

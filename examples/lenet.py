"""A LeNet-style network written in Gluon style, trained with Keras's ``model.fit``.

No layer is told its input size: every Conv2D and Dense infers it at the first
pass (deferred initialization). The data are generated here: 16x16 grey images of
one of four strokes (horizontal, vertical, diagonal, anti-diagonal) at a random
place, in noise; the stroke is the class.

Run: python examples/lenet.py [--epochs 8] [--samples 2048]
"""

import argparse

import keras
import numpy as np

from keras_defer import init, nd
from keras_defer.gluon import nn

CLASSES = ("horizontal", "vertical", "diagonal", "anti-diagonal")


def make_images(samples, size=16, seed=0):
    """``samples`` images (N, 1, size, size) in NCHW, labels in 0..3."""
    rs = np.random.RandomState(seed)
    images = rs.normal(0.0, 0.3, size=(samples, 1, size, size)).astype("float32")
    labels = rs.randint(0, len(CLASSES), size=samples)
    length = size // 2
    for image, label in zip(images, labels):
        r, c = rs.randint(0, size - length, size=2)
        steps = np.arange(length)
        rows, cols = {
            0: (np.full(length, r), c + steps),
            1: (r + steps, np.full(length, c)),
            2: (r + steps, c + steps),
            3: (r + steps, c + length - 1 - steps),
        }[label]
        image[0, rows, cols] += 1.0
    return images, labels.astype("int32")


def lenet():
    net = nn.Sequential()
    with net.name_scope():
        net.add(nn.Conv2D(channels=6, kernel_size=3, padding=1, activation="relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Conv2D(channels=16, kernel_size=3, activation="relu"),
                nn.MaxPool2D(pool_size=2, strides=2),
                nn.Flatten(),
                nn.Dense(64, activation="relu"),
                nn.Dense(len(CLASSES)))
    return net


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--samples", type=int, default=2048)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    x_train, y_train = make_images(args.samples, seed=0)
    x_test, y_test = make_images(max(args.samples // 4, 64), seed=1)

    net = lenet()
    net.initialize(init=init.Xavier())
    print(net)
    print("before the first pass:")
    for name, param in net.collect_params().items():
        print("  %-28s %s" % (name, param.shape))

    net(nd.array(x_train[:2]))  # the first pass fixes every deferred shape
    print("after the first pass:")
    for name, param in net.collect_params().items():
        print("  %-28s %s" % (name, param.shape))

    net.compile(optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    report = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print(
        "epoch %d: loss %.4f, accuracy %.3f, test accuracy %.3f"
        % (epoch + 1, logs["loss"], logs["accuracy"], logs["val_accuracy"]), flush=True))
    history = net.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=0,
                      validation_data=(x_test, y_test), callbacks=[report])
    return history.history


if __name__ == "__main__":
    main()

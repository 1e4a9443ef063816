"""The directory layout the data chapters expect, with generated data in the real formats.

Framework-neutral (numpy and the standard library only): the MXNet recorder and the
keras_defer replay build the same layout, so both frameworks read the same bytes.

    ROOT/home/.mxnet/datasets/fashion-mnist/   Fashion-MNIST in its idx .gz files: the
                                               default root of gdata.vision.FashionMNIST
                                               ($MXNET_HOME/datasets/fashion-mnist) and of
                                               d2l.load_data_fashion_mnist (~/.mxnet/...)
    ROOT/home/.keras_defer/datasets/fashion-mnist/   the same files for the port: its
                                               search-and-replace turns d2l's literal
                                               '~/.mxnet' into '~/.keras_defer'
    ROOT/data/kaggle_house_pred_{train,test}.csv   what kaggle-house-price.md reads as
                                               '../data/...'
    ROOT/d2l/                                  the d2l package (scripts/d2l), swapped to
                                               keras_defer for the port, found through the
                                               chapters' own sys.path.insert(0, '..')
    ROOT/<chapter>/                            the working directory of one chapter

`environment(root)` is what the chapter's process needs: HOME and MXNET_HOME point into
the layout (nothing is read from or written to the real ~/.mxnet, ~/.ipython, ~/.keras),
MPLBACKEND=Agg (the chapters' `%matplotlib inline` is an IPython magic; a script draws on
Agg and shows nothing).

Sizes. Fashion-MNIST is FASHION_MNIST_SIZES samples (the real files hold 60000/10000):
same per-sample shapes and dtypes (28x28 uint8 images, uint8 labels 0-9 in the files,
MXNet reads them as int32), so the training chapters take seconds. Each class has its own
pattern plus noise, so softmax regression and the MLPs learn something (losses fall,
accuracies rise above chance). The Kaggle files have the real shapes and column names
(train 1460 x 81 with SalePrice, test 1459 x 80), the real column dtypes (38 numeric
columns, 3 of them with missing values; 43 text columns, some mostly missing) and
categories of the real data set; the values are drawn, with a SalePrice that depends on
a few features.
"""

import gzip
import os
import shutil
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
D2L_PACKAGE = os.path.join(HERE, "scripts", "d2l")

FASHION_MNIST_SIZES = {"train": 500, "t10k": 200}

# (name, kind): kind "int" (low, high), "float" (low, high, fraction missing),
# or a list of categories (+ fraction missing). The real data set's 81 columns, in order.
KAGGLE_COLUMNS = [
    ("Id", None),
    ("MSSubClass", ("int", 20, 190)),
    ("MSZoning", (["RL", "RM", "C (all)", "FV", "RH"], 0.0)),
    ("LotFrontage", ("float", 21, 313, 0.18)),
    ("LotArea", ("int", 1300, 215245)),
    ("Street", (["Pave", "Grvl"], 0.0)),
    ("Alley", (["Grvl", "Pave"], 0.94)),
    ("LotShape", (["Reg", "IR1", "IR2", "IR3"], 0.0)),
    ("LandContour", (["Lvl", "Bnk", "Low", "HLS"], 0.0)),
    ("Utilities", (["AllPub", "NoSeWa"], 0.0)),
    ("LotConfig", (["Inside", "FR2", "Corner", "CulDSac", "FR3"], 0.0)),
    ("LandSlope", (["Gtl", "Mod", "Sev"], 0.0)),
    ("Neighborhood", (["CollgCr", "Veenker", "Crawfor", "NoRidge", "Mitchel", "Somerst",
                       "NWAmes", "OldTown", "BrkSide", "Sawyer", "NridgHt", "NAmes",
                       "SawyerW", "IDOTRR", "MeadowV", "Edwards", "Timber", "Gilbert",
                       "StoneBr", "ClearCr", "NPkVill", "Blmngtn", "BrDale", "SWISU",
                       "Blueste"], 0.0)),
    ("Condition1", (["Norm", "Feedr", "PosN", "Artery", "RRAe", "RRNn", "RRAn", "PosA",
                     "RRNe"], 0.0)),
    ("Condition2", (["Norm", "Artery", "RRNn", "Feedr", "PosN", "PosA", "RRAn", "RRAe"],
                    0.0)),
    ("BldgType", (["1Fam", "2fmCon", "Duplex", "TwnhsE", "Twnhs"], 0.0)),
    ("HouseStyle", (["2Story", "1Story", "1.5Fin", "1.5Unf", "SFoyer", "SLvl", "2.5Unf",
                     "2.5Fin"], 0.0)),
    ("OverallQual", ("int", 1, 10)),
    ("OverallCond", ("int", 1, 9)),
    ("YearBuilt", ("int", 1872, 2010)),
    ("YearRemodAdd", ("int", 1950, 2010)),
    ("RoofStyle", (["Gable", "Hip", "Gambrel", "Mansard", "Flat", "Shed"], 0.0)),
    ("RoofMatl", (["CompShg", "WdShngl", "Metal", "WdShake", "Membran", "Tar&Grv", "Roll",
                   "ClyTile"], 0.0)),
    ("Exterior1st", (["VinylSd", "MetalSd", "Wd Sdng", "HdBoard", "BrkFace", "WdShing",
                      "CemntBd", "Plywood", "AsbShng", "Stucco", "BrkComm", "AsphShn",
                      "Stone", "ImStucc", "CBlock"], 0.0)),
    ("Exterior2nd", (["VinylSd", "MetalSd", "Wd Shng", "HdBoard", "Plywood", "Wd Sdng",
                      "CmentBd", "BrkFace", "Stucco", "AsbShng", "Brk Cmn", "ImStucc",
                      "AsphShn", "Stone", "Other", "CBlock"], 0.0)),
    ("MasVnrType", (["BrkFace", "Stone", "BrkCmn"], 0.6)),
    ("MasVnrArea", ("float", 0, 1600, 0.005)),
    ("ExterQual", (["Gd", "TA", "Ex", "Fa"], 0.0)),
    ("ExterCond", (["TA", "Gd", "Fa", "Po", "Ex"], 0.0)),
    ("Foundation", (["PConc", "CBlock", "BrkTil", "Wood", "Slab", "Stone"], 0.0)),
    ("BsmtQual", (["Gd", "TA", "Ex", "Fa"], 0.025)),
    ("BsmtCond", (["TA", "Gd", "Fa", "Po"], 0.025)),
    ("BsmtExposure", (["No", "Gd", "Mn", "Av"], 0.026)),
    ("BsmtFinType1", (["GLQ", "ALQ", "Unf", "Rec", "BLQ", "LwQ"], 0.025)),
    ("BsmtFinSF1", ("int", 0, 5644)),
    ("BsmtFinType2", (["Unf", "BLQ", "ALQ", "Rec", "LwQ", "GLQ"], 0.026)),
    ("BsmtFinSF2", ("int", 0, 1474)),
    ("BsmtUnfSF", ("int", 0, 2336)),
    ("TotalBsmtSF", ("int", 0, 6110)),
    ("Heating", (["GasA", "GasW", "Grav", "Wall", "OthW", "Floor"], 0.0)),
    ("HeatingQC", (["Ex", "Gd", "TA", "Fa", "Po"], 0.0)),
    ("CentralAir", (["Y", "N"], 0.0)),
    ("Electrical", (["SBrkr", "FuseF", "FuseA", "FuseP", "Mix"], 0.001)),
    ("1stFlrSF", ("int", 334, 4692)),
    ("2ndFlrSF", ("int", 0, 2065)),
    ("LowQualFinSF", ("int", 0, 572)),
    ("GrLivArea", ("int", 334, 5642)),
    ("BsmtFullBath", ("int", 0, 3)),
    ("BsmtHalfBath", ("int", 0, 2)),
    ("FullBath", ("int", 0, 3)),
    ("HalfBath", ("int", 0, 2)),
    ("BedroomAbvGr", ("int", 0, 8)),
    ("KitchenAbvGr", ("int", 0, 3)),
    ("KitchenQual", (["Gd", "TA", "Ex", "Fa"], 0.0)),
    ("TotRmsAbvGrd", ("int", 2, 14)),
    ("Functional", (["Typ", "Min1", "Maj1", "Min2", "Mod", "Maj2", "Sev"], 0.0)),
    ("Fireplaces", ("int", 0, 3)),
    ("FireplaceQu", (["TA", "Gd", "Fa", "Ex", "Po"], 0.47)),
    ("GarageType", (["Attchd", "Detchd", "BuiltIn", "CarPort", "Basment", "2Types"], 0.055)),
    ("GarageYrBlt", ("float", 1900, 2010, 0.055)),
    ("GarageFinish", (["RFn", "Unf", "Fin"], 0.055)),
    ("GarageCars", ("int", 0, 4)),
    ("GarageArea", ("int", 0, 1418)),
    ("GarageQual", (["TA", "Fa", "Gd", "Ex", "Po"], 0.055)),
    ("GarageCond", (["TA", "Fa", "Gd", "Po", "Ex"], 0.055)),
    ("PavedDrive", (["Y", "N", "P"], 0.0)),
    ("WoodDeckSF", ("int", 0, 857)),
    ("OpenPorchSF", ("int", 0, 547)),
    ("EnclosedPorch", ("int", 0, 552)),
    ("3SsnPorch", ("int", 0, 508)),
    ("ScreenPorch", ("int", 0, 480)),
    ("PoolArea", ("int", 0, 738)),
    ("PoolQC", (["Ex", "Fa", "Gd"], 0.995)),
    ("Fence", (["MnPrv", "GdWo", "GdPrv", "MnWw"], 0.8)),
    ("MiscFeature", (["Shed", "Gar2", "Othr", "TenC"], 0.96)),
    ("MiscVal", ("int", 0, 15500)),
    ("MoSold", ("int", 1, 12)),
    ("YrSold", ("int", 2006, 2010)),
    ("SaleType", (["WD", "New", "COD", "ConLD", "ConLI", "CWD", "ConLw", "Con", "Oth"], 0.0)),
    ("SaleCondition", (["Normal", "Abnorml", "Partial", "AdjLand", "Alloca", "Family"], 0.0)),
    ("SalePrice", None),
]
KAGGLE_ROWS = {"train": 1460, "test": 1459}


# ----------------------------------------------------------------------- Fashion-MNIST


def fashion_mnist_arrays(count, seed):
    """(images uint8 (count, 28, 28), labels uint8 (count,)): each class a pattern (a
    bar whose place and width depend on the class) plus noise."""
    rng = np.random.RandomState(seed)
    labels = rng.randint(0, 10, size=count).astype(np.uint8)
    patterns = np.zeros((10, 28, 28), dtype=np.float64)
    for c in range(10):
        top = 2 + 2 * c
        patterns[c, top:top + 4 + c % 3, 4 + c:24 - c // 2] = 1.0
    noise = rng.randint(0, 80, size=(count, 28, 28))
    images = np.clip(patterns[labels] * 170 + noise, 0, 255).astype(np.uint8)
    return images, labels


def write_idx_images(path, images):
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">IIII", 2051, len(images), 28, 28))
        handle.write(images.tobytes())


def write_idx_labels(path, labels):
    with gzip.open(path, "wb") as handle:
        handle.write(struct.pack(">II", 2049, len(labels)))
        handle.write(labels.tobytes())


def write_fashion_mnist(directory):
    os.makedirs(directory, exist_ok=True)
    for seed, (part, count) in enumerate(sorted(FASHION_MNIST_SIZES.items())):
        images, labels = fashion_mnist_arrays(count, seed)
        write_idx_images(os.path.join(directory, part + "-images-idx3-ubyte.gz"), images)
        write_idx_labels(os.path.join(directory, part + "-labels-idx1-ubyte.gz"), labels)


# ------------------------------------------------------------------------------ Kaggle


def _kaggle_table(rows, first_id, rng, with_price):
    columns = {}
    for name, kind in KAGGLE_COLUMNS:
        if name == "Id":
            columns[name] = [str(first_id + i) for i in range(rows)]
        elif name == "SalePrice":
            continue
        elif kind[0] == "int":
            columns[name] = [str(v) for v in rng.randint(kind[1], kind[2] + 1, size=rows)]
        elif kind[0] == "float":
            values = rng.randint(kind[1], kind[2] + 1, size=rows)
            missing = rng.random_sample(rows) < kind[3]
            columns[name] = ["NA" if m else str(v) for v, m in zip(values, missing)]
        else:
            levels, missing_fraction = kind
            weights = 0.5 ** np.arange(len(levels))
            values = rng.choice(len(levels), size=rows, p=weights / weights.sum())
            missing = rng.random_sample(rows) < missing_fraction
            columns[name] = ["NA" if m else levels[v] for v, m in zip(values, missing)]
    if with_price:
        quality = np.array(columns["OverallQual"], dtype=float)
        area = np.array(columns["GrLivArea"], dtype=float)
        log_price = 10.5 + 0.12 * quality + 0.00025 * area + rng.normal(0, 0.15, rows)
        price = np.clip(np.exp(log_price), 34900, 755000).astype(int)
        columns["SalePrice"] = [str(v) for v in price]
    names = [name for name, _ in KAGGLE_COLUMNS if name in columns]
    lines = [",".join(names)]
    for i in range(rows):
        lines.append(",".join(_quoted(columns[name][i]) for name in names))
    return "\n".join(lines) + "\n"


def _quoted(text):
    return '"%s"' % text if "," in text else text


def write_kaggle(directory):
    os.makedirs(directory, exist_ok=True)
    rng = np.random.RandomState(2019)
    train = _kaggle_table(KAGGLE_ROWS["train"], 1, rng, with_price=True)
    test = _kaggle_table(KAGGLE_ROWS["test"], KAGGLE_ROWS["train"] + 1, rng, with_price=False)
    for part, text in (("train", train), ("test", test)):
        with open(os.path.join(directory, "kaggle_house_pred_%s.csv" % part), "w",
                  newline="") as handle:
            handle.write(text)


# ------------------------------------------------------------------------------ layout


def write_d2l(directory, transform=lambda text: text):
    """The d2l package, each file passed through `transform` (the port's swap)."""
    os.makedirs(directory, exist_ok=True)
    for name in sorted(os.listdir(D2L_PACKAGE)):
        if name.endswith(".py"):
            with open(os.path.join(D2L_PACKAGE, name), encoding="utf-8") as handle:
                text = transform(handle.read())
            with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
                handle.write(text)


def make(root, transform=lambda text: text):
    """Write the layout under root (made if missing); return root."""
    home = os.path.join(root, "home")
    # $MXNET_HOME (gdata.vision's default root), and where d2l's literal '~/.mxnet' points
    # once the port has replaced the word mxnet in it: '~/.keras_defer'
    for dot_dir in sorted({".mxnet", transform(".mxnet")}):
        write_fashion_mnist(os.path.join(home, dot_dir, "datasets", "fashion-mnist"))
    write_kaggle(os.path.join(root, "data"))
    write_d2l(os.path.join(root, "d2l"), transform)
    return root


def chapter_dir(root, name):
    """A fresh working directory for one chapter (what it writes stays there)."""
    path = os.path.join(root, name)
    if os.path.exists(path):
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def environment(root, base=None):
    """The environment of a chapter's process, on top of base (default os.environ)."""
    env = dict(os.environ if base is None else base)
    real_home = os.path.expanduser("~")
    # matplotlib's font cache and config stay where they are (a fresh HOME would make
    # matplotlib rebuild its font cache on every run)
    env.setdefault("XDG_CACHE_HOME", os.path.join(real_home, ".cache"))
    env.setdefault("XDG_CONFIG_HOME", os.path.join(real_home, ".config"))
    env.update(HOME=os.path.join(root, "home"),
               MXNET_HOME=os.path.join(root, "home", ".mxnet"),
               MPLBACKEND="Agg", PYTHONHASHSEED="0", TF_CPP_MIN_LOG_LEVEL="3")
    return env


def fashion_mnist_root(root):
    return os.path.join(root, "home", ".mxnet", "datasets", "fashion-mnist")

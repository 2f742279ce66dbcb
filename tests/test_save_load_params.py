"""The book's ``save_params`` / ``load_params`` on every net, through nnxp model files (never
pickle), and nets of the user's own (the book's chapter-8 ``awesome_net.py``): a Network
subclass with its own layers saves, loads back and is rebuilt by ``load_model``."""

from __future__ import annotations

import gc
import pickle
import zipfile

import numpy as np
import pytest

from nnxp.errors import ModelFileError, NnxpError
from nnxp.io import load_model, read_model_file
from nnxp.layers import Affine, BatchNormalization, Dropout, Tanh
from nnxp.models import build
from nnxp.models.base import Network
from nnxp.models.checks import init_std
from nnxp.models.registry import model_class
from tests.helpers import assert_close
from tests.test_models import SMALL


def _same_params(net, other, backend) -> None:
    for key in net.params:
        assert_close(other.params[key], backend.to_numpy(net.params[key]), backend, rtol=0)
    for key in getattr(net, "buffers", {}):
        assert_close(other.buffers[key], backend.to_numpy(net.buffers[key]), backend, rtol=0)


@pytest.mark.parametrize("name", list(SMALL))
def test_every_net_saves_and_loads_its_params(backend, tmp_path, name):
    net = build(SMALL[name], backend=backend, dtype="float64", seed=1)
    if "buffers" in dir(net) and len(net.buffers):  # running statistics a training step moved
        net.buffers["running_mean1"] = net.buffers["running_mean1"] + 0.5
    path = net.save_params(tmp_path / "params.npz")
    assert path == tmp_path / "params.npz"
    with zipfile.ZipFile(path) as z:  # an .npz of plain arrays and a JSON config, no pickle
        for member in z.namelist():
            np.load(z.open(member), allow_pickle=False)
    other = build(SMALL[name], backend=backend, dtype="float64", seed=2)
    assert not np.array_equal(backend.to_numpy(other.params["W1"]),
                              backend.to_numpy(net.params["W1"]))
    other.load_params(path)
    _same_params(net, other, backend)


@pytest.mark.host
def test_the_books_default_file_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    net = build(SMALL["two-layer"], seed=0)
    net.save_params()
    assert (tmp_path / "params.npz").is_file()
    other = build(SMALL["two-layer"], seed=5)
    other.load_params()
    _same_params(net, other, net.backend)


def test_a_file_of_another_shape_is_refused_and_nothing_changes(backend, tmp_path):
    path = build(SMALL["two-layer"], backend=backend, seed=0).save_params(tmp_path / "p.npz")
    for config, message in ((dict(SMALL["two-layer"], hidden_size=5),
                             r"W1 is \(6, 4\) there and \(6, 5\) here"),
                            (SMALL["multi-layer"], r"it holds \['W1', 'W2', 'b1', 'b2'\]")):
        net = build(config, backend=backend, seed=3)
        before = {key: backend.to_numpy(net.params[key]) for key in net.params}
        with pytest.raises(ModelFileError, match=message) as e:
            net.load_params(path)
        assert "\n" not in str(e.value) and "load_model" in str(e.value)
        for key in net.params:
            assert_close(net.params[key], before[key], backend, rtol=0)


@pytest.mark.host
def test_load_params_casts_to_the_nets_dtype(tmp_path):
    path = build(SMALL["multi-layer"], dtype="float64", seed=0).save_params(tmp_path / "p.npz")
    net = build(SMALL["multi-layer"], dtype="float32", seed=1)
    net.load_params(path)
    assert all(net.params[key].dtype == np.float32 for key in net.params)


@pytest.mark.host
def test_the_books_own_pickles_load_through_the_safe_unpickler(tmp_path):
    net = build(SMALL["two-layer"], dtype="float64", seed=0)
    arrays = {key: np.asarray(net.params[key]) for key in net.params}
    book = tmp_path / "params.pkl"
    book.write_bytes(pickle.dumps(arrays))  # as the book's save_params writes its file
    other = build(SMALL["two-layer"], dtype="float64", seed=4)
    other.load_params(book)
    _same_params(net, other, net.backend)
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system"
                     b"\x94\x93\x94\x8c\x05touch\x94\x85\x94R\x94.")
    with pytest.raises(ModelFileError, match="refusing to load os.system from a pickle") as e:
        other.load_params(evil)
    assert "\n" not in str(e.value)


# -- a net of your own -------------------------------------------------------------------

class AwesomeNet(Network):
    """Affine - BatchNorm - Tanh - Dropout - Affine, named and saved by the base class."""

    config_keys = ("input_size", "hidden_size", "output_size")

    def __init__(self, input_size=6, hidden_size=5, output_size=3, *, backend="numpy",
                 dtype="float32", seed=None):
        super().__init__(backend, dtype)
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        be, rng = self.backend, self.backend.rng(seed)
        ones = be.xp.ones((hidden_size,), dtype=be.float_dtype(), device=be.device)
        self.layers = [
            Affine(self.draw_weights(rng, (input_size, hidden_size), init_std("xavier", input_size)),
                   be.zeros((hidden_size,))),
            BatchNormalization(ones, be.zeros((hidden_size,))),
            Tanh(),
            Dropout(0.2, seed=seed),
            Affine(self.draw_weights(rng, (hidden_size, output_size),
                                     init_std("xavier", hidden_size)), be.zeros((output_size,))),
        ]
        self.name_params()


@pytest.mark.host
def test_a_net_of_your_own_is_named_by_its_module_and_class():
    net = AwesomeNet(seed=0)
    assert net.model == "tests.test_save_load_params:AwesomeNet"
    assert model_class(net.model) is AwesomeNet
    assert net.config == {"model": net.model, "input_size": 6, "hidden_size": 5, "output_size": 3}
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]
    assert list(net.buffers) == ["running_mean1", "running_var1"]
    assert net.params["W2"] is net.layers[4].W


def test_a_net_of_your_own_trains_saves_and_loads_back(backend, tmp_path):
    rng = np.random.default_rng(0)
    x, t = rng.random((8, 6)), rng.integers(0, 3, 8)
    net = AwesomeNet(backend=backend, dtype="float64", seed=0)
    grads = net.gradient(backend.asarray(x), backend.asarray(t))  # moves the running statistics
    assert set(grads) == set(net.params)
    path = net.save_params(tmp_path / "awesome.npz")
    other = AwesomeNet(backend=backend, dtype="float64", seed=9)
    other.load_params(path)
    _same_params(net, other, backend)
    again, meta = load_model(path, backend=backend)
    assert type(again) is AwesomeNet and meta["model"] == net.config
    _same_params(net, again, backend)
    scores = backend.to_numpy(net.predict(backend.asarray(x)))
    assert_close(again.predict(backend.asarray(x)), scores, backend, rtol=1e-12)


def _save_a_net_whose_class_then_goes(path):
    class Ghost(AwesomeNet):
        model = "ghosts:Ghost"

    Ghost(seed=0).save_params(path)


def _save_a_main_net(path):
    class Ghost(AwesomeNet):
        pass

    Ghost.model = "__main__:Ghost"
    Ghost(seed=0).save_params(path)


@pytest.mark.host
@pytest.mark.parametrize(("save", "message"), [
    (_save_a_net_whose_class_then_goes, "class Ghost, which is not defined here; import ghosts "
     r"first \(nnxp imports no module a file names\)"),
    (_save_a_main_net, "define it in the script that loads the file"),
])
def test_a_net_whose_class_is_not_defined_says_so_in_one_line(tmp_path, save, message):
    path = tmp_path / "ghost.npz"
    save(path)
    gc.collect()
    with pytest.raises(ModelFileError, match=message) as e:
        load_model(path)
    assert "\n" not in str(e.value)
    with pytest.raises(NnxpError, match="unknown model"):
        read_model_file(path)
    AwesomeNet(seed=1).load_params(path)  # loading into a net of the right shapes needs no class

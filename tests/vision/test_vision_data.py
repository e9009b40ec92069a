import pickle

import numpy as np
import pytest
import torch

from gnn_sparse.vision import ImageBatches, ImageDataset, channel_stats, load_cifar, load_digits_splits, random_crop_flip


# ----------------------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def digits():
    return load_digits_splits(seed=0)


def test_digits_split_is_stratified_deterministic_and_normalised(digits):
    sizes = [len(digits.train), len(digits.val), len(digits.test)]
    assert sum(sizes) == 1797 and sizes[1] == sizes[2] == 270
    assert digits.num_classes == 10 and digits.in_channels == 1
    for part in (digits.val, digits.test):  # stratified: every class 26-28 times
        assert torch.bincount(part.labels, minlength=10).min() >= 26
    again = load_digits_splits(seed=0)
    assert torch.equal(again.test.images, digits.test.images) and torch.equal(again.test.labels, digits.test.labels)
    assert not torch.equal(load_digits_splits(seed=1).test.labels, digits.test.labels)
    x, y = digits.train.batch(torch.arange(len(digits.train)))
    assert x.shape == (len(digits.train), 1, 8, 8) and x.dtype == torch.float32
    assert float(x.mean()) == pytest.approx(0.0, abs=1e-5) and float(x.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)
    x0, y0 = digits.train[5]
    assert torch.equal(x0, x[5]) and int(y0) == int(y[5])


def test_digits_bad_fractions():
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction must be < 1"):
        load_digits_splits(0.5, 0.5)


# ----------------------------------------------------------------------------- CIFAR
def _dump(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def _fake_cifar(root, classes, per_file, seed=0):
    """The released layout, small: uint8 rows of 3072 (R plane, G plane, B plane)."""
    rng = np.random.default_rng(seed)
    rows = lambda n: rng.integers(0, 256, (n, 3072), dtype=np.uint8)  # noqa: E731
    labels = lambda n, k: [int(v) for v in rng.permutation(np.arange(n) % k)]  # noqa: E731  every class alike
    if classes == 10:
        folder = root / "cifar-10-batches-py"
        folder.mkdir(parents=True)
        files = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
        for name in files:
            _dump(folder / name, {b"batch_label": name.encode(), b"data": rows(per_file),
                                  b"labels": labels(per_file, 10), b"filenames": []})
        _dump(folder / "batches.meta", {b"label_names": [f"c{i}".encode() for i in range(10)], b"num_vis": 3072})
    else:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for name in ("train", "test"):
            _dump(folder / name, {b"data": rows(per_file), b"fine_labels": labels(per_file, 100),
                                  b"coarse_labels": labels(per_file, 20)})
        _dump(folder / "meta", {b"fine_label_names": [f"f{i}".encode() for i in range(100)],
                                b"coarse_label_names": [f"g{i}".encode() for i in range(20)]})
    return folder


def _read(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def test_cifar10_from_fake_batches(tmp_path):
    folder = _fake_cifar(tmp_path, 10, per_file=6)
    splits = load_cifar(tmp_path, 10)  # the parent folder ...
    again = load_cifar(folder, 10)  # ... or the extracted folder itself
    assert torch.equal(splits.train.images, again.train.images)
    assert len(splits.train) == 30 and len(splits.test) == 6 and splits.val is None
    assert splits.num_classes == 10 and splits.train.classes[3] == "c3"
    second = _read(folder / "data_batch_2")
    img = splits.train.images[6]  # first image of data_batch_2
    assert img.shape == (3, 32, 32) and img.dtype == torch.uint8
    assert torch.equal(img[0].reshape(-1), torch.from_numpy(second[b"data"][0][:1024]))  # red plane first
    assert torch.equal(img[2, 31], torch.from_numpy(second[b"data"][0][-32:]))
    assert int(splits.train.labels[6]) == second[b"labels"][0]
    test = _read(folder / "test_batch")
    assert splits.test.labels.tolist() == [int(v) for v in test[b"labels"]]
    mean, std = channel_stats(splits.train.images, 255.0)
    x, _ = splits.train.batch(torch.arange(30))
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-5  # normalised with the training statistics
    assert x.std(dim=(0, 2, 3), unbiased=False).sub(1).abs().max() < 1e-4
    ref = splits.train.images.double() / 255
    assert mean == pytest.approx(ref.mean(dim=(0, 2, 3)).tolist())
    assert std == pytest.approx(ref.std(dim=(0, 2, 3), unbiased=False).tolist())


def test_cifar100_layout_and_validation_split(tmp_path):
    _fake_cifar(tmp_path, 100, per_file=300)
    splits = load_cifar(tmp_path, 100, val_size=100, seed=0)
    assert splits.num_classes == 100 and splits.train.classes[-1] == "f99"
    assert len(splits.train) == 200 and len(splits.val) == 100 and len(splits.test) == 300
    train_rows = {tuple(r.reshape(-1)[:16].tolist()) for r in splits.train.images}
    assert not any(tuple(r.reshape(-1)[:16].tolist()) in train_rows for r in splits.val.images)
    assert torch.equal(load_cifar(tmp_path, 100, val_size=100, seed=0).val.images, splits.val.images)
    fine = _read(tmp_path / "cifar-100-python" / "test")[b"fine_labels"]
    assert splits.test.labels.tolist() == [int(v) for v in fine]


def test_missing_cifar_files_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"CIFAR-10 files not found\. Expected data_batch_1, data_batch_2, "
                       r"data_batch_3, data_batch_4, data_batch_5, test_batch, batches\.meta in .*cifar-10-batches-py"):
        load_cifar(tmp_path, 10)
    with pytest.raises(FileNotFoundError, match=r"CIFAR-100 files not found\. Expected train, test, meta"):
        load_cifar(tmp_path, 100)
    folder = _fake_cifar(tmp_path, 10, per_file=2)
    (folder / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing in .*cifar-10-batches-py: data_batch_4\)"):
        load_cifar(tmp_path, 10)


def test_cifar_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="num_classes must be 10 or 100, got 20"):
        load_cifar(tmp_path, 20)
    _fake_cifar(tmp_path, 10, per_file=2)
    with pytest.raises(ValueError, match=r"val_size must be an integer in \[0, 10\)"):
        load_cifar(tmp_path, 10, val_size=10)


# ----------------------------------------------------------------------------- augmentation
def test_crop_flip_identity_without_padding_or_flip():
    x = torch.rand(5, 3, 8, 8)
    assert torch.equal(random_crop_flip(x, padding=0, flip=False), x)


def test_crop_flip_is_a_window_of_the_padded_image():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(64, 3, 6, 6, generator=g)
    out = random_crop_flip(x, padding=2, generator=g)
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    seen = set()
    for b in range(64):
        hits = [(oy, ox, f) for oy in range(5) for ox in range(5) for f in (False, True)
                if torch.equal(out[b], (lambda w: w.flip(-1) if f else w)(padded[b, :, oy:oy + 6, ox:ox + 6]))]
        assert hits, b
        seen.add(hits[0])
    assert len({h[2] for h in seen}) == 2 and len({h[:2] for h in seen}) > 10  # draws differ per image
    g2 = torch.Generator().manual_seed(0)
    torch.rand(64, 3, 6, 6, generator=g2)
    assert torch.equal(random_crop_flip(x, padding=2, generator=g2), out)  # seeded


def test_crop_flip_validates():
    with pytest.raises(ValueError, match=r"random_crop_flip: images must be \(B, C, H, W\)"):
        random_crop_flip(torch.zeros(3, 8, 8))
    with pytest.raises(ValueError, match="padding must be an integer >= 0"):
        random_crop_flip(torch.zeros(1, 3, 8, 8), padding=-1)


# ----------------------------------------------------------------------------- batches
def _tiny_dataset(n=10):
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 1, 4, 4).contiguous()
    return ImageDataset(images, torch.arange(n) % 3, 255.0, [0.0], [1.0], ["a", "b", "c"])


def test_batches_cover_the_data_and_are_seeded_per_epoch():
    data = _tiny_dataset()
    loader = ImageBatches(data, batch_size=4, shuffle=True, seed=3)
    assert len(loader) == 3 and len(ImageBatches(data, 4, drop_last=True)) == 2
    epoch0 = [x[:, 0, 0, 0] for x, _ in loader]
    assert [len(b) for b in epoch0] == [4, 4, 2]
    order0 = torch.cat(epoch0).mul(255).round().long()
    assert sorted(order0.tolist()) == list(range(10))
    order1 = torch.cat([x[:, 0, 0, 0] for x, _ in loader]).mul(255).round().long()
    assert loader.epoch == 2 and not torch.equal(order0, order1)
    loader.set_epoch(0)  # resuming at epoch 0 replays it exactly
    assert torch.equal(torch.cat([x[:, 0, 0, 0] for x, _ in loader]).mul(255).round().long(), order0)
    plain = torch.cat([y for _, y in ImageBatches(data, 4)])
    assert torch.equal(plain, data.labels)


def test_dataset_validates():
    with pytest.raises(ValueError, match=r"ImageDataset: labels must lie in \[0, 2\)"):
        ImageDataset(torch.zeros(2, 1, 2, 2, dtype=torch.uint8), torch.tensor([0, 2]), 255.0, [0.0], [1.0], ["a", "b"])
    with pytest.raises(ValueError, match="ImageBatches: batch_size must be a positive integer"):
        ImageBatches(_tiny_dataset(), 0)

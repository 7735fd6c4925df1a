#!/usr/bin/python3
"""onnx_agree.py CNNCTL CHECKPOINT MODEL IMAGES LABELS COUNT [opencv]

Checks an exported model with Debian's python3-onnx (onnx.checker) and,
with `opencv`, runs it with OpenCV's DNN module (python3-opencv) on the
first COUNT images of the IDX files IMAGES and LABELS (gzipped or not, grey)
against `cnnctl eval --predictions` of the checkpoint: the same class for
every image and each probability within 1e-4. Prints one line of figures;
exit 0 when all agree, 1 when not, 3 when python3-onnx (or, with opencv,
python3-opencv) is not installed."""
import csv
import gzip
import os
import subprocess
import sys
import tempfile

try:
    import numpy as np
    import onnx
except ImportError:
    print("python3-onnx (with numpy) is not installed")
    sys.exit(3)

cnnctl, ckpt, model_path, images, labels, count = sys.argv[1:7]
count = int(count)
opencv = len(sys.argv) > 7 and sys.argv[7] == "opencv"

model = onnx.load(model_path)
onnx.checker.check_model(model)
if not opencv:
    print(f"{model_path}: onnx.checker accepts it (opset {model.opset_import[0].version})")
    sys.exit(0)
try:
    import cv2
except ImportError:
    print(f"{model_path}: onnx.checker accepts it; python3-opencv is not installed")
    sys.exit(3)


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


img, lab = read(images), read(labels)
rows, cols = int.from_bytes(img[8:12], "big"), int.from_bytes(img[12:16], "big")
count = min(count, int.from_bytes(img[4:8], "big"))
pixels = img[16:16 + count * rows * cols]
with tempfile.TemporaryDirectory() as tmp:
    sub_images, sub_labels = os.path.join(tmp, "images"), os.path.join(tmp, "labels")
    with open(sub_images, "wb") as f:
        f.write(img[:4] + count.to_bytes(4, "big") + img[8:16] + pixels)
    with open(sub_labels, "wb") as f:
        f.write(lab[:4] + count.to_bytes(4, "big") + lab[8:8 + count])
    predictions = os.path.join(tmp, "p.csv")
    subprocess.run([cnnctl, "eval", ckpt, "--images", sub_images, "--labels", sub_labels, "--predictions",
                    predictions], check=True, capture_output=True)
    with open(predictions) as f:
        ours = np.array([[float(v) for v in row[3:]] for row in list(csv.reader(f))[1:]], np.float32)
x = np.frombuffer(pixels, np.uint8).reshape(count, 1, rows, cols).astype(np.float32) / 255
net = cv2.dnn.readNetFromONNX(model_path)
net.setInput(x)
theirs = net.forward().reshape(count, -1)
same = int((ours.argmax(1) == theirs.argmax(1)).sum())
worst = float(np.abs(ours - theirs).max())
print(f"{model_path}: onnx.checker accepts it; OpenCV {cv2.__version__}: the same class for {same} of {count} "
      f"images, probabilities within {worst:.2g}")
sys.exit(0 if same == count and worst <= 1e-4 else 1)

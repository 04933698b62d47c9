#!/usr/bin/env python3
"""Checks models/dist/dlib_resnet.onnx (dlib's ResNet face descriptor rebuilt from face-api.js's
TF.js weights by models/faceapi2onnx.py) against dlib's own descriptor.

For every face fixture with exactly one face that dlib's detector finds, dlib's 5-point shape
predictor gives the 150x150 face chip (padding 0.25); dlib's descriptor of that chip and the
ONNX model's descriptor of the same chip must agree at cosine >= 0.999. Exits 1 otherwise.

    python3 tests/dlib_descriptor.py [models/dist/dlib_resnet.onnx]
"""

import glob
import sys
from pathlib import Path

import dlib
import face_recognition_models as frm
import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models/dist/dlib_resnet.onnx")
    detector = dlib.get_frontal_face_detector()
    shapes = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    reference = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    cosines = []
    for path in sorted(glob.glob(str(ROOT / "tests/fixtures/faces/*.jpg"))):
        img = np.array(Image.open(path).convert("RGB"))
        faces = detector(img, 1)
        if len(faces) != 1:
            continue
        chip = dlib.get_face_chip(img, shapes(img, faces[0]), size=150, padding=0.25)
        a = np.array(reference.compute_face_descriptor(chip))
        b = session.run(None, {"input": chip[None].astype(np.float32)})[0][0]
        c = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
        cosines.append(c)
        print(f"{c:.5f}  {Path(path).name}")
    if len(cosines) < 5:
        sys.exit(f"only {len(cosines)} chips checked")
    worst = min(cosines)
    print(f"{len(cosines)} chips, lowest cosine {worst:.5f} (need >= 0.999)")
    sys.exit(0 if worst >= 0.999 else 1)


if __name__ == "__main__":
    main()

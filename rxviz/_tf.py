"""Quiet TensorFlow's start-up chatter; import this before TensorFlow or Keras.

Users can still override each setting through the environment.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

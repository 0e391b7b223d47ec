#!/usr/bin/env bash
# Creates the peer environments of benchmarks/run.py next to the checkout:
#   ../keras3  Keras 3 with the JAX backend, on the same jax version as flaxheads' environment
#   ../tf215   TensorFlow 2.15 with tf.estimator (needs Python 3.11)
# Usage: benchmarks/peers/make_envs.sh [keras3] [tf215]   (both when none is named)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
envs=${*:-keras3 tf215}
for env in $envs; do
  case $env in
    keras3)
      jax_version=$(python3 -c 'import jax; print(jax.__version__)')
      python3 -m venv "$root/../keras3"
      "$root/../keras3/bin/pip" install 'keras>=3,<4' "jax==$jax_version" numpy ;;
    tf215)
      python3.11 -m venv "$root/../tf215"
      "$root/../tf215/bin/pip" install tensorflow-cpu==2.15.1 tensorflow-estimator==2.15.0 ;;
    *) echo "unknown environment: $env (keras3 or tf215)" >&2; exit 2 ;;
  esac
done

#!/usr/bin/env bash
# Start vLLM's OpenAI-compatible server for MedMO-4B/8B on this machine's GPU(s), bound to
# loopback only: the reverse proxy (nginx-medmo.conf) is the only way in from the network.
#
#   MEDMO_MODEL=/srv/medmo/models/MedMO-8B ./vllm-medmo.sh            # one GPU
#   MEDMO_MODEL=/srv/medmo/models/MedMO-8B MEDMO_TP=2 ./vllm-medmo.sh # two GPUs, tensor parallel
#
# Every setting has a default below and can be overridden from the environment (the systemd
# unit reads them from /etc/medmo/vllm.env, see vllm.env.example). README.md says why each
# flag is set as it is.
set -euo pipefail

MODEL=${MEDMO_MODEL:?set MEDMO_MODEL to the checkpoint folder (MedMO-4B or MedMO-8B)}
SERVED_NAME=${MEDMO_SERVED_NAME:-$(basename "$MODEL")}   # the name viewers ask for
TP=${MEDMO_TP:-1}                       # GPUs per model (tensor parallel): 1, 2, 4 or 8
MAX_MODEL_LEN=${MEDMO_MAX_MODEL_LEN:-16384}  # prompt + images + answer, per request
MAX_IMAGES=${MEDMO_MAX_IMAGES:-16}      # the viewer sends at most 16 frames in one question
MAX_SEQS=${MEDMO_MAX_NUM_SEQS:-32}      # requests decoded together (continuous batching)
GPU_UTIL=${MEDMO_GPU_MEMORY_UTILIZATION:-0.90}
LORA_RANK=${MEDMO_MAX_LORA_RANK:-16}    # >= the rank of the site's adapters (medmo train: 16)
MAX_LORAS=${MEDMO_MAX_LORAS:-2}         # adapters in one batch (e.g. the site's + a trial one)
PORT=${MEDMO_VLLM_PORT:-8000}
PYTHON=${MEDMO_VLLM_PYTHON:-python3}    # the Python of vLLM's own virtualenv

args=(
  --model "$MODEL" --served-model-name "$SERVED_NAME"
  --host 127.0.0.1 --port "$PORT"
  --dtype bfloat16
  --tensor-parallel-size "$TP"
  --max-model-len "$MAX_MODEL_LEN"
  --limit-mm-per-prompt "{\"image\": $MAX_IMAGES, \"video\": 0}"
  --max-num-seqs "$MAX_SEQS"
  --gpu-memory-utilization "$GPU_UTIL"
  --generation-config auto
  --disable-uvicorn-access-log
)
if [ "$TP" -gt 1 ]; then
  args+=(--mm-encoder-tp-mode data)   # each GPU runs the (small) vision tower on its own images
fi
if [ -n "${MEDMO_API_KEY:-}" ]; then
  args+=(--api-key "$MEDMO_API_KEY")  # second lock behind the proxy's; /v1 routes only
fi
if [ "${MEDMO_ENABLE_ADAPTERS:-1}" = 1 ]; then
  # Site adapters loaded at run time by the viewer ("Use this adapter"): POST
  # /v1/load_lora_adapter with a path under the adapter share, which this server reads.
  export VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
  args+=(--enable-lora --max-lora-rank "$LORA_RANK" --max-loras "$MAX_LORAS")
fi
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1}   # weights are local; no network call at start-up
exec "$PYTHON" -m vllm.entrypoints.openai.api_server "${args[@]}" "$@"

#!/usr/bin/env bash
# `regkit copy` beside `skopeo copy --all`, between two registries of one
# emulator (DigitalOcean's and IONOS's hosts, blobs on disk), on loopback,
# in one run: a two-platform image (default 512 MiB: 2 platforms of 4
# layers of 64 MiB), each round copied by both tools into fresh
# repositories, the tools alternating who goes first. Reports wall time,
# throughput, the ratio, and each tool's peak resident memory.
# Needs skopeo, GNU time (/usr/bin/time), curl and python3. Usage:
#   bash tests/bench/copy.sh [LAYERS_PER_PLATFORM] [LAYER_MIB] [ROUNDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
layers=${1:-4}; layer_mib=${2:-64}; rounds=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build -q --release -p regkit-emulator -p regkit-cli
emulator=$PWD/target/release/regkit-emulator
regkit=$PWD/target/release/regkit
# skopeo's blob cache lives under HOME: a scratch one, cleared per copy.
export HOME=$work/home
mkdir -p "$HOME"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

echo "== image: 2 platforms of $layers layers of $layer_mib MiB"
python3 - "$work/image" "$layers" "$layer_mib" <<'PY'
import hashlib, json, os, sys
d, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(f"{d}/blobs/sha256")
def put(b, media):
    h = hashlib.sha256(b).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(b)
    return {"mediaType": media, "digest": "sha256:" + h, "size": len(b)}
platforms = []
for arch in ["amd64", "arm64"]:
    layers = [put(os.urandom(mib << 20), "application/vnd.oci.image.layer.v1.tar") for _ in range(n)]
    config = put(json.dumps({"architecture": arch, "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode(),
        "application/vnd.oci.image.config.v1+json")
    m = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": config, "layers": layers}).encode(), "application/vnd.oci.image.manifest.v1+json")
    m["platform"] = {"architecture": arch, "os": "linux"}
    platforms.append(m)
index = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": platforms}).encode(), "application/vnd.oci.image.index.v1+json")
index["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
json.dump({"schemaVersion": 2, "manifests": [index]}, open(f"{d}/index.json", "w"))
open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
bytes=$(( 2 * layers * layer_mib * 1024 * 1024 ))

# The emulator, blobs on disk, with its demo registries ("demo" at both
# DigitalOcean and IONOS).
port=$(free_port)
"$emulator" --port "$port" --data-dir "$work/emulator" --demo > "$work/banner" 2>&1 &
wait_port "$port"
# The banner's `export` lines: tokens and registry hosts.
eval "$(grep '^export ' "$work/banner" | sed 's/  #.*//')"
export REGKIT_DIGITALOCEAN_BASE_URL=http://127.0.0.1:$port/digitalocean
export REGKIT_IONOS_BASE_URL=http://127.0.0.1:$port/ionos
do_host=$REGKIT_DIGITALOCEAN_REGISTRY_HOST
ionos_id=$(curl -sf -H "Authorization: Bearer $IONOS_TOKEN" "$REGKIT_IONOS_BASE_URL/registries" |
  python3 -c 'import json,sys; print([r["id"] for r in json.load(sys.stdin)["items"] if r["properties"]["name"] == "demo"][0])')
ionos_host=$(curl -sf -H "Authorization: Bearer $IONOS_TOKEN" "$REGKIT_IONOS_BASE_URL/registries/$ionos_id" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["properties"]["hostname"])')
# skopeo's push credential at IONOS: a token for every repository.
ionos_creds=$(curl -sf -H "Authorization: Bearer $IONOS_TOKEN" -H 'content-type: application/json' \
  -d '{"properties":{"name":"bench","scopes":[{"name":"*","type":"repository","actions":["pull","push"]}]}}' \
  "$REGKIT_IONOS_BASE_URL/registries/$ionos_id/tokens" |
  python3 -c 'import json,sys; c=json.load(sys.stdin)["properties"]["credentials"]; print(c["username"]+":"+c["password"])')
do_creds="$DIGITALOCEAN_TOKEN:$DIGITALOCEAN_TOKEN"

clear_cache() { rm -rf "$HOME/.local/share/containers/cache"; rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb 2>/dev/null || true; }
skopeo copy -q --all --dest-tls-verify=false --preserve-digests --dest-creds "$do_creds" \
  "oci:$work/image:v1" "docker://$do_host/demo/bench:v1"

# One copy, timed with its peak resident memory: "seconds KiB".
measure() { /usr/bin/time -f '%e %M' -o "$work/time" "$@" > /dev/null; cat "$work/time"; }
run_regkit() { measure "$regkit" copy "digitalocean:demo/bench:v1" "ionos:demo/$1"; }
run_skopeo() {
  clear_cache
  measure skopeo copy -q --all --preserve-digests --src-tls-verify=false --dest-tls-verify=false \
    --src-creds "$do_creds" --dest-creds "$ionos_creds" \
    "docker://$do_host/demo/bench:v1" "docker://$ionos_host/$1:v1"
}
declare -A secs rss
for round in $(seq "$rounds"); do
  order=(regkit skopeo); [ $((round % 2)) = 0 ] && order=(skopeo regkit)
  for tool in "${order[@]}"; do
    read -r s m < <("run_$tool" "bench-$tool-$round")
    secs[$tool]+="$s "; rss[$tool]+="$m "
    echo "round $round: $tool $s s, peak RSS $((m / 1024)) MiB"
  done
done
# Each copy landed whole: the index's digest at the destination is the source's.
want=$(skopeo inspect --raw --tls-verify=false --creds "$do_creds" "docker://$do_host/demo/bench:v1" | sha256sum | cut -d' ' -f1)
for tool in regkit skopeo; do
  got=$(skopeo inspect --raw --tls-verify=false --creds "$ionos_creds" "docker://$ionos_host/bench-$tool-1:v1" | sha256sum | cut -d' ' -f1)
  [ "$got" = "$want" ] || { echo "$tool's copy has another index digest" >&2; exit 1; }
done

python3 - "$bytes" "$rounds" "${secs[regkit]}" "${secs[skopeo]}" "${rss[regkit]}" "${rss[skopeo]}" <<'PY'
import statistics, sys
size, n = int(sys.argv[1]), int(sys.argv[2])
t = {k: [float(x) for x in v.split()] for k, v in zip(["regkit", "skopeo"], sys.argv[3:5])}
m = {k: max(int(x) for x in v.split()) for k, v in zip(["regkit", "skopeo"], sys.argv[5:7])}
mib = size / 1048576
print(f"== {mib:.0f} MiB, median of {n} rounds")
for k in t:
    s = statistics.median(t[k])
    print(f"{k}: {s:.2f} s ({mib / s:.0f} MiB/s), peak RSS {m[k] / 1024:.1f} MiB")
print(f"regkit throughput / skopeo: {statistics.median(t['skopeo']) / statistics.median(t['regkit']):.2f}x")
PY

#!/usr/bin/env bash
# The emulator's data plane beside docker-registry 2.8 (distribution), on
# loopback, in one run:
#   1. skopeo pushes a multi-layer image (default 512 MiB: 8 layers of
#      64 MiB) to each and pulls it back; throughput and the ratio;
#   2. the emulator's resident memory while it receives a 1 GiB blob, over
#      idle (with --data-dir, so blobs stream to disk);
#   3. a tags/list walk of 10 000 tags in pages of 100.
# Needs skopeo, docker-registry, curl and python3. Usage:
#   bash tests/bench/data-plane.sh [LAYERS] [LAYER_MIB] [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
layers=${1:-8}; layer_mib=${2:-64}; runs=${3:-3}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build -q --release -p regkit-emulator
emulator=$PWD/target/release/regkit-emulator
# skopeo's blob cache lives under HOME: a scratch one, cleared per copy.
export HOME=$work/home

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }
now() { date +%s.%N; }

echo "== image: $layers layers of $layer_mib MiB"
python3 - "$work/image" "$layers" "$layer_mib" <<'PY'
import hashlib, json, os, sys
d, n, mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(f"{d}/blobs/sha256")
def put(b, media):
    h = hashlib.sha256(b).hexdigest()
    open(f"{d}/blobs/sha256/{h}", "wb").write(b)
    return {"mediaType": media, "digest": "sha256:" + h, "size": len(b)}
layers = [put(os.urandom(mib << 20), "application/vnd.oci.image.layer.v1.tar") for _ in range(n)]
config = put(json.dumps({"architecture": "amd64", "os": "linux",
    "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]}}).encode(),
    "application/vnd.oci.image.config.v1+json")
m = put(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config, "layers": layers}).encode(), "application/vnd.oci.image.manifest.v1+json")
m["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
json.dump({"schemaVersion": 2, "manifests": [m]}, open(f"{d}/index.json", "w"))
open(f"{d}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
PY
bytes=$(( layers * layer_mib * 1024 * 1024 ))

# docker-registry, deletes on, storage in the scratch directory.
ref_port=$(free_port)
cat > "$work/registry.yml" <<YML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/reference}
http: {addr: 127.0.0.1:$ref_port}
YML
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
wait_port "$ref_port"

# The emulator, blobs on disk, one DigitalOcean registry.
emu_port=$(free_port)
"$emulator" --port "$emu_port" --data-dir "$work/emulator" > "$work/banner" 2>&1 &
emu_pid=$!
wait_port "$emu_port"
token=$(sed -n 's/^export DIGITALOCEAN_TOKEN=\([^ ]*\).*/\1/p' "$work/banner")
emu_host=$(sed -n 's/^export REGKIT_DIGITALOCEAN_REGISTRY_HOST=\([^ ]*\).*/\1/p' "$work/banner")
curl -sf -o /dev/null -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"name":"bench","region":"fra1","subscription_tier_slug":"professional"}' \
  "http://127.0.0.1:$emu_port/digitalocean/v2/registries"

# skopeo remembers where it saw each blob (root: /var/lib/containers/cache)
# and would mount rather than send it.
clear_cache() { rm -rf "$HOME/.local/share/containers/cache"; rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb 2>/dev/null || true; }
mibps() { python3 -c "print(f'{$bytes / 1048576 / $1:.1f}')"; }
declare -A push pull
for run in $(seq "$runs"); do
  for target in reference emulator; do
    # A repository of its own and no blob cache, so every byte is sent.
    if [ "$target" = reference ]; then dest="127.0.0.1:$ref_port/bench/app$run:v1"; creds=();
    else dest="$emu_host/bench/app$run:v1"; creds=(--dest-creds "$token:$token"); fi
    clear_cache
    t0=$(now)
    skopeo copy -q --dest-tls-verify=false --preserve-digests "${creds[@]}" "oci:$work/image:v1" "docker://$dest"
    t1=$(now)
    src_creds=(); [ "$target" = emulator ] && src_creds=(--src-creds "$token:$token")
    rm -rf "$work/back"; clear_cache
    skopeo copy -q --src-tls-verify=false --preserve-digests "${src_creds[@]}" "docker://$dest" "oci:$work/back:v1"
    t2=$(now)
    push[$target]+="$(python3 -c "print($t1-$t0)") "
    pull[$target]+="$(python3 -c "print($t2-$t1)") "
  done
done
median() { python3 -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))" $1; }
echo "== skopeo, $((bytes >> 20)) MiB, median of $runs (seconds, MiB/s)"
for op in push pull; do
  declare -n times=$op
  r=$(median "${times[reference]}"); e=$(median "${times[emulator]}")
  printf '%s: docker-registry %.2f s (%s MiB/s), emulator %.2f s (%s MiB/s), emulator throughput / reference: %s\n' \
    "$op" "$r" "$(mibps "$r")" "$e" "$(mibps "$e")" "$(python3 -c "print(f'{$r/$e:.2f}x')")"
done

echo "== resident memory while the emulator receives a 1 GiB blob"
head -c $((1 << 30)) /dev/urandom > "$work/big"
digest="sha256:$(sha256sum "$work/big" | cut -d' ' -f1)"
idle=$(awk '/VmRSS/ {print $2}' "/proc/$emu_pid/status")
jwt=$(curl -sf -u "$token:$token" "http://127.0.0.1:$emu_port/digitalocean/v2/registry/auth?service=x&scope=repository:bench/big:pull,push" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
location=$(curl -sf -D - -o /dev/null -X POST -H "Authorization: Bearer $jwt" "http://$emu_host/v2/bench/big/blobs/uploads/" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
peak=$idle
( while kill -0 "$emu_pid" 2>/dev/null; do awk '/VmRSS/ {print $2}' "/proc/$emu_pid/status"; sleep 0.05; done ) > "$work/rss" &
sampler=$!
curl -sf -o /dev/null -X PUT -H "Authorization: Bearer $jwt" -H 'content-type: application/octet-stream' \
  -T "$work/big" "http://$emu_host$location?digest=$digest"
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$work/rss" | tail -1)
echo "idle ${idle} KiB, peak ${peak} KiB while receiving: grew $(( (peak - idle) / 1024 )) MiB"

echo "== tags/list: 10 000 tags, pages of 100"
python3 - "$emu_host" "$jwt" "$token" "$emu_port" <<'PY'
import http.client, json, sys, time, hashlib, base64
host, _, token, api = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
h, p = host.split(":")
def jwt(scope):
    c = http.client.HTTPConnection("127.0.0.1", int(api))
    c.request("GET", f"/digitalocean/v2/registry/auth?service=x&scope={scope}", headers={"Authorization": "Basic " + base64.b64encode(f"{token}:{token}".encode()).decode()})
    return json.loads(c.getresponse().read())["token"]
t = jwt("repository:bench/walk:pull,push")
c = http.client.HTTPConnection(h, int(p))
auth = {"Authorization": f"Bearer {t}"}
def req(method, path, body=b"", headers={}):
    c.request(method, path, body=body, headers={**auth, **headers})
    r = c.getresponse(); data = r.read(); return r, data
config = b'{"architecture":"amd64","os":"linux"}'
d = "sha256:" + hashlib.sha256(config).hexdigest()
req("POST", f"/v2/bench/walk/blobs/uploads/?digest={d}", config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": d, "size": len(config)}, "layers": []}).encode()
for i in range(10000):
    r, _ = req("PUT", f"/v2/bench/walk/manifests/t{i:05}", manifest, {"content-type": "application/vnd.oci.image.manifest.v1+json"})
    assert r.status == 201, r.status
t0 = time.time(); pages = 0; seen = 0; url = "/v2/bench/walk/tags/list?n=100"
while url:
    r, data = req("GET", url); pages += 1
    assert r.status == 200, (r.status, data[:300])
    seen += len(json.loads(data)["tags"])
    link = r.getheader("link"); url = link[1:link.index(">")] if link else None
dt = time.time() - t0
print(f"{seen} tags in {pages} pages: {dt*1000:.0f} ms ({dt/pages*1000:.2f} ms a page)")
PY

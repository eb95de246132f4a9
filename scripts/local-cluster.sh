#!/usr/bin/env bash
# A local SeLoRA cluster on loopback: one seed node (coordinator + worker) and N worker nodes as separate processes.
#   scripts/local-cluster.sh up [--nodes N] [--postgres] [-c extra.hocon]   start (logs in <dir>/logs/)
#   scripts/local-cluster.sh status                                           which of its processes run
#   scripts/local-cluster.sh down                                             stop exactly the processes it started
# State lives in ${SELORA_LOCAL_CLUSTER_DIR:-runs/local-cluster}. Connect with: scripts/pbm 127.0.0.1:9110 cluster show
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SELORA_LOCAL_CLUSTER_DIR:-$root/runs/local-cluster}"
pids="$dir/pids"
program="$root/src/SeLoRA.Cli/bin/Debug/net10.0/selora.dll"

alive() { kill -0 "$1" 2>/dev/null; }

case "${1:-}" in
  up)
    shift
    nodes=2; overlay=(); extra=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --nodes) nodes="$2"; shift 2 ;;
        --postgres) overlay=(--overlay persistence/postgres); shift ;;
        -c) extra+=(-c "$2"); shift 2 ;;
        *) echo "local-cluster: unknown option $1" >&2; exit 2 ;;
      esac
    done
    if [ -f "$pids" ]; then
      while read -r pid _; do
        if alive "$pid"; then echo "local-cluster: already up (see $0 status); run $0 down first" >&2; exit 2; fi
      done < "$pids"
    fi
    [ -f "$program" ] || dotnet build "$root/src/SeLoRA.Cli" -v quiet -nologo >/dev/null
    mkdir -p "$dir/logs"; : > "$pids"
    seed_port=${SELORA_SEED_PORT:-4053}
    start() { # name, command-host port, node arguments...
      local name="$1" cmd_port="$2"; shift 2
      printf 'selora.data-dir = "%s"\nselora.command-host.port = %s\n' "$dir/data" "$cmd_port" > "$dir/$name.hocon"
      nohup dotnet "$program" node -c "$dir/$name.hocon" "${overlay[@]}" "${extra[@]}" "$@" > "$dir/logs/$name.log" 2>&1 &
      echo "$! $name $cmd_port" >> "$pids"
    }
    start seed 9110 --roles coordinator,worker --port "$seed_port"
    for i in $(seq 1 "$nodes"); do
      start "worker-$i" $((9110 + i)) --roles worker --seed-nodes "akka.tcp://selora@127.0.0.1:$seed_port"
    done
    echo "local cluster starting: seed akka.tcp://selora@127.0.0.1:$seed_port and $nodes worker node(s); logs in $dir/logs/"
    echo "connect:   scripts/pbm 127.0.0.1:9110 cluster show"
    echo "train:     scripts/pbm 127.0.0.1:9110 train start -c hocon/experiments/synthcxr-selora.hocon"
    echo "stop:      $0 down"
    ;;
  status)
    [ -f "$pids" ] || { echo "local-cluster: not up"; exit 0; }
    while read -r pid name port; do
      if alive "$pid"; then echo "$name pid $pid running (command host 127.0.0.1:$port)"; else echo "$name pid $pid stopped"; fi
    done < "$pids"
    ;;
  down)
    [ -f "$pids" ] || { echo "local-cluster: not up"; exit 0; }
    while read -r pid name _; do alive "$pid" && kill -TERM "$pid" && echo "stopping $name (pid $pid)"; done < "$pids"
    for _ in $(seq 1 40); do
      any=0; while read -r pid _ _; do alive "$pid" && any=1; done < "$pids"
      [ "$any" = 0 ] && break; sleep 0.5
    done
    while read -r pid name _; do alive "$pid" && kill -KILL "$pid" && echo "killed $name (pid $pid)"; done < "$pids"
    rm -f "$pids"
    ;;
  *)
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac

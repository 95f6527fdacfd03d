#!/bin/bash
# forky.sh N - a fork-heavy shell script: command substitutions, pipelines,
# external commands and string/array work, N iterations.
set -u
n=${1:-200}
acc=""
declare -a arr=()
declare -A map=()
for ((i = 0; i < n; i++)); do
	x=$(printf '%05d' "$i")            # fork (subshell)
	y=$(echo "$x" | tr 0-9 a-j)        # fork + exec + pipe
	/bin/true                          # fork + exec
	acc+="$y,"
	arr+=("$x$y")
	map[$y]=$i
	if ((i % 50 == 49)); then
		acc=${acc//a/A}
		wc=$(printf '%s\n' "${arr[@]}" | sort -r | head -n 1)
	fi
done
echo "forky: ${#acc} ${#arr[@]} ${#map[@]} ${wc:-}"

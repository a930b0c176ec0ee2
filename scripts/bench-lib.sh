# bench-lib.sh — helpers for scripts/bench.sh and scripts/bench.d/*.sh.

# ratio FILE PATTERN_OURS PATTERN_BASE UNIT LABEL: median-free, mean of the
# -count runs of a metric column (UNIT names the column's unit).
ratio() {
	awk -v ours="$2" -v base="$3" -v unit="$4" -v label="$5" '
	function val(   i) { for (i = 1; i < NF; i++) if ($(i+1) == unit) return $i; return "" }
	$1 ~ ours { v = val(); if (v != "") { so += v; no++ } }
	$1 ~ base { v = val(); if (v != "") { sb += v; nb++ } }
	END {
		if (!no || !nb) { printf "%-58s  (missing)\n", label; exit }
		o = so / no; b = sb / nb
		printf "%-58s  slkit %10.2f %s   baseline %10.2f %s   ratio %.2fx\n", label, o, unit, b, unit, o / b
	}' "$1"
}

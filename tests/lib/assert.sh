# shellcheck shell=bash
# The assertions shared by the integration tests (tests/integration/lib.sh) and the guest part of
# the VM tests (tests/vm/guest-lib.sh). Each takes a description first; they count checks and call
# the sourcing library's pass DESC / fail DESC EXPECTED ACTUAL.

check() { CHECKS=$((CHECKS + 1)); }

assert_eq() { # DESC EXPECTED ACTUAL
	check
	if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "'$2'" "'$3'"; fi
}

assert_ne() { # DESC UNEXPECTED ACTUAL
	check
	if [ "$2" != "$3" ]; then pass "$1"; else fail "$1" "anything but '$2'" "'$3'"; fi
}

assert_contains() { # DESC HAYSTACK NEEDLE
	check
	if [[ "$2" == *"$3"* ]]; then pass "$1"; else fail "$1" "text containing '$3'" "'$2'"; fi
}

assert_not_contains() { # DESC HAYSTACK NEEDLE
	check
	if [[ "$2" != *"$3"* ]]; then pass "$1"; else fail "$1" "text without '$3'" "'$2'"; fi
}

assert_match() { # DESC ERE ACTUAL
	check
	if [[ "$3" =~ $2 ]]; then pass "$1"; else fail "$1" "a match for /$2/" "'$3'"; fi
}

assert_true() { # DESC COMMAND...
	local desc=$1
	shift
	check
	if "$@"; then pass "$desc"; else fail "$desc" "success of: $*" "failure"; fi
}

assert_false() { # DESC COMMAND...
	local desc=$1
	shift
	check
	if ! "$@"; then pass "$desc"; else fail "$desc" "failure of: $*" "success"; fi
}

# fugue.bash - bash completion for fugue(1).
#
# Installed as <datadir>/bash-completion/completions/fugue (loaded on demand
# by bash-completion); or source it from ~/.bashrc.
#
# Process aliases come from `fugue status --json` (with the --conductor given
# on the command line, if any), under a one-second timeout and with every
# error thrown away: when the Conductor is not running, nothing is offered
# and nothing is printed.

_fugue_commands="help init run status update history suspend resume kill release property runtime validate graph"
_fugue_global_opts="--json --conductor --no-color --help"

# The options of command $1 (global ones added by the caller).
_fugue_command_opts()
{
	case $1 in
	init) echo "-f --force --socket --region --ami --instance-type --ssh-key-name --bucket --availability-zone" ;;
	run) echo "-a --alias --dry-run --no-wait" ;;
	update) echo "--dry-run --no-wait" ;;
	history) echo "-n --limit" ;;
	resume) echo "--dry-run --no-wait" ;;
	kill) echo "-y --yes --dry-run --no-wait" ;;
	release) echo "-y --yes" ;;
	property) echo "--set" ;;
	validate | graph) echo "-p --planners-dir" ;;
	esac
}

# Runs fugue quietly against the Conductor named on the command line.
_fugue_query()
{
	local prog=${COMP_WORDS[0]}
	local -a args=()
	[[ -n $_fugue_conductor ]] && args=(--conductor "$_fugue_conductor")
	command -v "$prog" >/dev/null 2>&1 || return 0
	if command -v timeout >/dev/null 2>&1; then
		timeout 1 "$prog" "${args[@]}" --no-color "$@" </dev/null 2>/dev/null
	else
		"$prog" "${args[@]}" --no-color "$@" </dev/null 2>/dev/null
	fi
}

# The aliases of every process (nothing when the Conductor is unreachable).
_fugue_processes()
{
	_fugue_query status --json |
		sed -n 's/^[[:space:]]*"alias":[[:space:]]*"\([^"]*\)".*/\1/p'
}

# The runtime settings' keys: those the Conductor lists, else the built-in ones.
_fugue_runtime_keys()
{
	local keys
	keys=$(_fugue_query runtime list --json |
		sed -n 's/^[[:space:]]*"\([a-z][A-Za-z0-9_.-]*\)":[[:space:]]*[^[:space:]{[].*/\1/p' | sort -u)
	[[ -z $keys ]] && keys="enforce.interval concurrency log.level"
	echo "$keys"
}

_fugue_files()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir '@(yaml|yml|json)'
	else
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_fugue_dirs()
{
	if declare -F _filedir >/dev/null 2>&1; then
		_filedir -d
	else
		local IFS=$'\n'
		COMPREPLY=($(compgen -d -- "$cur"))
	fi
}

_fugue()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=""
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	local _fugue_conductor=""
	local cmd="" i word
	local -a args=()   # the command's positional arguments before the cursor
	COMPREPLY=()

	# Find the command and its arguments, skipping options and their values.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		--conductor)
			((i++))
			_fugue_conductor=${COMP_WORDS[i]}
			continue ;;
		--conductor=*)
			_fugue_conductor=${word#--conductor=}
			continue ;;
		-a | --alias | -n | --limit | --set | -p | --planners-dir | --socket | --region | --ami | \
		--instance-type | --ssh-key-name | --bucket | --availability-zone)
			((i++))
			continue ;;
		-*) continue ;;
		esac
		if [[ -z $cmd ]]; then
			cmd=$word
		else
			args+=("$word")
		fi
	done

	# Values of options.
	case $prev in
	--conductor)
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	--socket)
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0 ;;
	-p | --planners-dir)
		_fugue_dirs
		return 0 ;;
	-a | --alias | -n | --limit | --region | --ami | --instance-type | --ssh-key-name | \
	--bucket | --availability-zone)
		return 0 ;;
	--set)
		case ${args[1]} in
		lock | enforcement) COMPREPLY=($(compgen -W "on off" -- "$cur")) ;;
		esac
		return 0 ;;
	esac

	if [[ $cur == -* ]]; then
		local extra="--version"
		[[ -n $cmd ]] && extra=$(_fugue_command_opts "$cmd")
		COMPREPLY=($(compgen -W "$_fugue_global_opts $extra" -- "$cur"))
		return 0
	fi

	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$_fugue_commands" -- "$cur"))
		return 0
	fi

	local n=${#args[@]}
	case $cmd in
	help)
		((n == 0)) && COMPREPLY=($(compgen -W "$_fugue_commands" -- "$cur")) ;;
	run | validate)
		((n == 0)) && _fugue_files ;;
	graph)
		if ((n == 0)); then
			_fugue_files
			COMPREPLY+=($(compgen -W "$(_fugue_processes)" -- "$cur"))
		fi ;;
	update)
		if ((n == 0)); then
			COMPREPLY=($(compgen -W "$(_fugue_processes)" -- "$cur"))
		elif ((n == 1)); then
			_fugue_files
		fi ;;
	status | history | suspend | resume | kill | release)
		((n == 0)) && COMPREPLY=($(compgen -W "$(_fugue_processes)" -- "$cur")) ;;
	property)
		if ((n == 0)); then
			COMPREPLY=($(compgen -W "$(_fugue_processes)" -- "$cur"))
		elif ((n == 1)); then
			COMPREPLY=($(compgen -W "alias lock enforcement" -- "$cur"))
		elif ((n == 2)); then
			COMPREPLY=($(compgen -W "--set" -- "$cur"))
		fi ;;
	runtime)
		if ((n == 0)); then
			COMPREPLY=($(compgen -W "get list set unset" -- "$cur"))
		elif ((n == 1)); then
			case ${args[0]} in
			get | set | unset) COMPREPLY=($(compgen -W "$(_fugue_runtime_keys)" -- "$cur")) ;;
			esac
		elif ((n == 2)) && [[ ${args[0]} == set ]]; then
			case ${args[1]} in
			log.level) COMPREPLY=($(compgen -W "error warn info debug" -- "$cur")) ;;
			esac
		fi ;;
	esac
	return 0
}

complete -F _fugue fugue

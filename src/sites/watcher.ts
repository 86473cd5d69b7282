import { MARKER_ENV } from './escaped.js';

/**
 * How the site's command is started, so that its processes die with Berth even when Berth is killed
 * with SIGKILL (PR_SET_PDEATHSIG would reach only the direct child, not what a shell or `npm start`
 * starts). Run as `/bin/sh -c WITH_WATCHER berth-instance <command>` in a new process group, with this
 * start's marker in the environment (MARKER_ENV), never on a command line: `ps` shows every user those.
 *
 * A watcher subshell in the group blocks reading fd 3, a socket whose other end only Berth holds; when
 * Berth ends in any way the kernel closes that end and the read returns. The watcher then kills the
 * processes outside the group that carry this start's marker (escaped.ts: `setsid`, detached
 * children), and last its own group, itself included. The watcher ignores SIGTERM: a stop's SIGTERM
 * is for the app, and the watcher must keep guarding it through the grace period (the stop's SIGKILL,
 * or the group's once the leader exits, ends it).
 *
 * The command runs in the group leader itself (`eval`, fd 3 closed, the shell variables below unset
 * and never exported), not in a second shell: a shell waiting for a command dies on SIGTERM, and the
 * leader's exit is what makes Berth SIGKILL the group, so `node server.mjs` under `sh -c` would lose
 * its grace period. The leader instead traps SIGTERM, and POSIX runs that trap only once the command
 * in the foreground has finished: the app gets the stop's one SIGTERM and all of the grace period,
 * and the leader then exits (`exit` in a trap keeps the app's status) without starting the next part
 * of a command list such as `npm run migrate; node server.mjs`. A command that starts with `exec`
 * replaces the leader.
 *
 * The sweep is POSIX sh (dash is /bin/sh here) plus grep and tr:
 * - the marker is checked first (32 hex digits, else no sweep: an empty one would match every instance);
 * - one `grep -l` over /proc/[0-9]*\/environ finds the candidates (a fork or two, not one per process);
 * - each is kept only when outside the group ($$ is the group leader's pid, which is the group id), not
 *   a zombie, and when one whole NUL-separated entry of its environment is exactly MARKER=<marker>
 *   (`tr` makes entries lines; `grep -x` matches whole lines). A value holding a newline could fake
 *   such a line only by containing the marker itself, which no unrelated process knows;
 * - its start time is read from /proc/<pid>/stat before that check and again right before the kill, so
 *   a pid reused meanwhile is not signalled; one that leads its own group (it called setsid) is killed
 *   with that group, as Berth does (escaped.ts);
 * - passes repeat until one kills nothing (children started by a killed process carry the marker too),
 *   at most 20. What a group member starts after the last pass, before `kill 0`, is left for the next
 *   Berth start, which finds it by the marker in the instance's process record.
 */
export const WITH_WATCHER = [
  `m=$${MARKER_ENV}`,
  'case $m in *[!0-9a-f]*) m= ;; esac',
  '[ ${#m} -eq 32 ] || m=',
  // Sets sp (state), pg (group) and t (start time) of pid $1 from /proc/<pid>/stat; fails when it is gone.
  // The command name, in parentheses, may hold spaces: the fields read are those after the last ") ".
  'st() {',
  '  read -r s </proc/$1/stat || return 1',
  '  s=${s##*) }',
  '  set -- $s',
  '  [ $# -ge 20 ] || return 1',
  '  sp=$1 pg=$3',
  '  shift 19',
  '  t=$1',
  '}',
  'sweep() {',
  '  n=0',
  '  while [ $n -lt 20 ]; do',
  '    n=$((n + 1)) k=',
  `    for f in $(grep -lsF "${MARKER_ENV}=$m" /proc/[0-9]*/environ); do`,
  '      p=${f#/proc/}',
  '      p=${p%/environ}',
  '      st $p || continue',
  '      [ "$pg" != $$ ] && [ "$sp" != Z ] && [ "$sp" != X ] || continue',
  '      t1=$t',
  `      tr '\\0' '\\n' </proc/$p/environ | grep -qxF "${MARKER_ENV}=$m" || continue`,
  '      st $p && [ "$t" = "$t1" ] || continue',
  '      if [ "$pg" = "$p" ]; then kill -s KILL -- -$p; else kill -s KILL $p; fi',
  '      k=1',
  '    done',
  '    [ -n "$k" ] || break',
  '  done',
  '}',
  `(trap '' TERM; read -r _ <&3; [ -z "$m" ] || sweep; kill -s KILL 0) </dev/null >/dev/null 2>&1 &`,
  'exec 3<&-',
  'c=$1',
  'set --',
  'unset -f st sweep',
  'unset m n k f p t t1 s sp pg',
  'trap exit TERM',
  'eval "$c"',
].join('\n');

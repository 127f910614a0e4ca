/**
 * /proc/PID/status (fs/proc/array.c proc_pid_status) with the lines this model has: the task's
 * identity (Name, State, Tgid, Ngid, Pid, PPid, TracerPid), task_mem's memory lines, Threads.
 * Credentials, signals, capabilities and cpusets are not modelled and not printed.
 */
import { procStatusMemory } from '../proc-smaps';
import type { Task } from './task';

/**
 * proc_task_name: seq_escape_str(m, comm, ESCAPE_SPACE | ESCAPE_SPECIAL, "\n\\") escapes only
 * the newline and the backslash.
 */
function escapeComm(comm: string): string {
  return comm.replace(/[\n\\]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

export function procStatus(task: Task): string {
  return (
    `Name:\t${escapeComm(task.comm)}\n` +
    // A task the model serves is always runnable: it is the one the orchestrator is running.
    'State:\tR (running)\n' +
    `Tgid:\t${task.pid}\n` +
    'Ngid:\t0\n' +
    `Pid:\t${task.pid}\n` +
    `PPid:\t${task.ppid}\n` +
    'TracerPid:\t0\n' +
    procStatusMemory(task.mm.mm) +
    'Threads:\t1\n'
  );
}

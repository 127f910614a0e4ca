/** Thrown inside a process's step when the workload cannot go on (an unset variable, a closed fd). */
export class TaskFault extends Error {}

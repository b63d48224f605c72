/**
 * Lines for one output stream, written together once per turn of the event loop. A terminal,
 * file or pipe on stdout is written synchronously, so one write per request was a measured cost
 * under load; the order of lines is kept and nothing waits longer than the current turn.
 */
export class LineBatch {
  private lines: string[] = [];
  private isScheduled = false;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  write(line: string): void {
    this.lines.push(line);
    if (this.isScheduled) return;
    this.isScheduled = true;
    setImmediate(this.flush);
  }

  /** Writes what is waiting now (also at shutdown). */
  readonly flush = (): void => {
    this.isScheduled = false;
    if (this.lines.length === 0) return;
    const text = `${this.lines.join('\n')}\n`;
    this.lines = [];
    this.stream.write(text);
  };
}

/** A request the gate answers with `status` and a one-line reason (server.ts writes it out). */
export class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

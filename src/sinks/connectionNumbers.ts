import type { Socket } from 'node:net';

/** Numbers the connections a server's requests come on, for tests to count them: 1 for the first, 2 for the next... */
export class ConnectionNumbers {
  readonly #numbers = new WeakMap<Socket, number>();
  #seen = 0;

  of(socket: Socket): number {
    let number = this.#numbers.get(socket);
    if (number === undefined) this.#numbers.set(socket, (number = ++this.#seen));
    return number;
  }
}

/**
 * A scripted Workscript server for the tabs' tests (editor, automation form): a fetch that
 * records each request and answers through a handler, which may hold an answer back (a
 * promise the test resolves) to make answers arrive out of order. The real `WorkscriptClient`
 * and Jupyter's `ServerConnection` sit in front of it, so the requests are the real ones.
 * Also the editor tests' shared fixtures.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { WorkscriptClient } from '../src/api';
import { settingsWith } from './fakes';

export interface IServerRequest {
  method: string;
  /** The path under /workscript/, without the query. */
  path: string;
  query: URLSearchParams;
  body: any;
}

export interface IServerAnswer {
  status: number;
  body?: unknown;
  contentType?: string;
}

export type Handler = (
  request: IServerRequest
) => IServerAnswer | Error | Promise<IServerAnswer | Error>;

/** The fetch of the scripted server, and the requests it saw. */
export function scriptedFetch(handler: Handler) {
  const requests: IServerRequest[] = [];
  const fetch = async (input: Request): Promise<Response> => {
    const url = new URL(input.url);
    const text = await input.text();
    const request: IServerRequest = {
      method: input.method,
      path: url.pathname.replace(/^\/user\/ana\/workscript\//, ''),
      query: url.searchParams,
      body: text ? JSON.parse(text) : undefined
    };
    requests.push(request);
    const answer = await handler(request);
    if (answer instanceof Error) {
      throw answer;
    }
    const body =
      answer.body === undefined
        ? null
        : typeof answer.body === 'string'
          ? answer.body
          : JSON.stringify(answer.body);
    return new Response(body, {
      status: answer.status,
      headers: {
        'Content-Type': answer.contentType ?? 'application/json'
      }
    });
  };
  return { fetch, requests };
}

/** The client of a scripted server, and the requests it saw. */
export function scriptedServer(handler: Handler) {
  const { fetch, requests } = scriptedFetch(handler);
  const client = new WorkscriptClient(settingsWith(fetch));
  return { client, requests };
}

/** A promise the test settles by hand. */
export function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>(r => {
    resolve = r;
  });
  return { promise, resolve };
}

export const trans = nullTranslator.load('workscript_jupyter');

export const SVG =
  "<svg xmlns='http://www.w3.org/2000/svg'><text>g</text></svg>";

/** A server error body, as the Workscript handlers write it. */
export function errorBody(
  code: string,
  message: string,
  details: unknown = null
) {
  return { error: { code, message, details } };
}

/** The docs' example workflow (docs/workflow-language.md §1): a loop that counts to five. */
export const COUNT_TO_FIVE = {
  id: 'count',
  name: 'Count to five',
  version: '1.0.0',
  initialState: { i: 0 },
  workflow: [
    {
      'logic...': {
        operation: 'less',
        values: ['$.i', 5],
        'true?': [
          { math: { operation: 'add', values: ['$.i', 1] } },
          { '$.i': '$.mathResult' }
        ]
      }
    },
    { log: { message: 'done {{$.i}}' } }
  ]
};

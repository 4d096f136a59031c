/**
 * Lab's own dialog as the Connections section's `confirm` (a Delete asks first). Kept apart
 * from connections.tsx so the section draws in a test without Lab's dialog machinery.
 */

import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import type { IConfirmQuestion } from './connections';

/** A `confirm` answering true when the user accepts the warning button. */
export function dialogConfirm(
  trans: TranslationBundle
): (question: IConfirmQuestion) => Promise<boolean> {
  return async question => {
    const result = await showDialog({
      title: question.title,
      body: question.body,
      buttons: [
        Dialog.cancelButton({ label: trans.__('Cancel') }),
        Dialog.warnButton({ label: question.accept })
      ]
    });
    return result.button.accept;
  };
}

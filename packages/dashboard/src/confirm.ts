/**
 * A button whose action runs only after a confirmation in a modal dialog (the dashboard changes
 * nothing on one click). The dialog is the browser's own <dialog>: it traps focus, and Escape
 * dismisses it.
 */
import { html } from "htm/preact";
import { useRef, useState } from "preact/hooks";

interface ConfirmButtonProps {
  label: string;
  /** The question, saying what will happen. */
  question: string;
  /** The dialog's confirming button. */
  confirmLabel: string;
  danger?: boolean;
  disabled?: boolean;
  /** Runs on confirmation; its rejection is shown in the dialog. */
  action: () => Promise<void>;
}

/** See the file's header. */
export function ConfirmButton(props: ConfirmButtonProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | undefined>();
  const confirm = async () => {
    setBusy(true);
    setFailure(undefined);
    try {
      await props.action();
      dialog.current?.close();
    } catch (error) {
      setFailure((error as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return html`
    <button type="button" class=${props.danger ? "danger" : ""} disabled=${props.disabled} onClick=${() => dialog.current?.showModal()}>
      ${props.label}
    </button>
    <dialog ref=${dialog} aria-label=${props.label}>
      <p>${props.question}</p>
      ${failure ? html`<p class="problem" role="alert">${failure}</p>` : null}
      <div class="actions">
        <button type="button" autofocus onClick=${() => dialog.current?.close()}>Keep it</button>
        <button type="button" class=${props.danger ? "danger" : "primary"} disabled=${busy} onClick=${confirm}>
          ${busy ? "Working…" : props.confirmLabel}
        </button>
      </div>
    </dialog>`;
}

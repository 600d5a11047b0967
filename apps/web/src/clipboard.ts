/** Clipboard API when allowed; else the old execCommand way (plain-http LAN addresses). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    } finally {
      area.remove();
    }
  }
}

/**
 * The clipboard's text, or undefined when the browser will not give it (no permission, or a
 * plain-http address where navigator.clipboard does not exist). Pages cannot read the clipboard
 * any other way: the fallback is the browser's own paste (Ctrl+Shift+V, right-click → Paste).
 */
export async function readClipboardText(): Promise<string | undefined> {
  try {
    return await navigator.clipboard.readText();
  } catch {
    return undefined;
  }
}

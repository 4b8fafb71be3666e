package dev.meshguard.cli;

import java.io.PrintWriter;
import java.util.List;

/** Left-aligned text tables for terminal output; the last column is never padded. */
final class Tables {
  private static final int MAX_WIDTH = 60;

  private Tables() {}

  static void print(PrintWriter out, List<String[]> rows) {
    int columns = rows.get(0).length;
    int[] widths = new int[columns];
    for (String[] row : rows) {
      for (int c = 0; c < columns; c++) {
        widths[c] = Math.min(MAX_WIDTH, Math.max(widths[c], row[c].length()));
      }
    }
    for (String[] row : rows) {
      StringBuilder line = new StringBuilder();
      for (int c = 0; c < columns; c++) {
        String cell = row[c].length() > MAX_WIDTH && c < columns - 1 ? row[c].substring(0, MAX_WIDTH - 1) + "…" : row[c];
        line.append(cell);
        if (c < columns - 1) {
          line.append(" ".repeat(widths[c] - cell.length() + 2));
        }
      }
      out.println(line.toString().stripTrailing());
    }
  }
}

#!/usr/bin/python3
"""Writes the certificate benchmark input: N eligible students spread over E events.

Usage: generate.py OUT_DIR [--students 2000] [--events 5]
Creates OUT_DIR/students.csv and OUT_DIR/events.txt. Names mix scripts the way a
real class list does, so rendering cost includes font fallback.
"""
import argparse
import os

NAMES = ["Ada Lovelace", "Grace Hopper", "Алексей Смирнов", "Ελένη Παπαδοπούλου", "محمد الأحمد",
         "王小明", "José Álvarez", "Zoë Müller", "Søren Kierkegaard", "佐藤 花子"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--students", type=int, default=2000)
    parser.add_argument("--events", type=int, default=5)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    events = [f"Benchmark Event {i + 1}" for i in range(args.events)]
    with open(os.path.join(args.out_dir, "events.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(events) + "\n")
    with open(os.path.join(args.out_dir, "students.csv"), "w", encoding="utf-8", newline="") as f:
        f.write("event_name,student_name,student_email,attended,hours\r\n")
        for i in range(args.students):
            name = f"{NAMES[i % len(NAMES)]} {i}"
            f.write(f"{events[i % len(events)]},{name},student{i}@bench.example.org,1,{8 + i % 5}\r\n")


if __name__ == "__main__":
    main()

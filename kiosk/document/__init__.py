"""Document step: find the ID in a picture or live frame, rectify it, extract its portrait.

Modules: ``types`` (results and enums), ``quad`` (document outline), ``rectify`` (perspective
correction to the ICAO aspect), ``orientation`` (which way is up), ``portrait`` (portrait crop
and refusal reasons), ``autocapture``
(live-frame tracker with guidance hints), ``watcher`` (drop folder / USB mount), ``pipeline``
(everything for one still image).
"""

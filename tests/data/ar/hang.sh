#!/bin/bash
# A script that never ends (and leaves a child behind): killed at the time limit.
read -r msg
sleep 300 &
sleep 300
